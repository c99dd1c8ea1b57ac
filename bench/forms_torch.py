"""PyTorch's time for each family of bench/forms.ts: one forward and backward step
(torch.autograd.grad of the loss with respect to the family's parameters), float64, one thread,
the median of 21 runs of a batch after a warm-up, timed two ways: with the tensors built
beforehand (PyTorch's best case, "seconds"), and from the request's numbers to the answer's
("fromLists": Python lists made into tensors, the gradients made into lists again, the work a
service built on PyTorch does for each request, which compute('grad') does too). Prints one JSON
object: {"version": ..., "seconds": {family name: seconds}, "fromLists": {family name: seconds}}.
The family names are bench/forms.ts's; a family missing here is reported there as such."""
import json
import time

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)
torch.manual_seed(0)


def median_seconds(step, budget=0.05):
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            step()
        if time.perf_counter() - start > budget / 4:
            break
        calls *= 2
    times = []
    for _ in range(21):
        start = time.perf_counter()
        for _ in range(calls):
            step()
        times.append((time.perf_counter() - start) / calls)
    times.sort()
    return times[len(times) // 2]


def param(*shape, scale=1.0):
    return ((torch.rand(shape) - 0.5) * scale).requires_grad_()


def data(*shape, scale=1.0, shift=0.0):
    return (torch.rand(shape) - 0.5) * scale + shift


def timed(loss, inputs, wrt):
    """The family's step on tensors built beforehand: PyTorch's best case."""
    params = [inputs[name] for name in wrt]
    return median_seconds(lambda: torch.autograd.grad(loss(**inputs), params))


def timed_from_lists(loss, inputs, wrt):
    """The same step as a service runs it: the request's numbers (Python lists, as a JSON parser
    gives them) made into tensors, the loss and its gradients taken, and the answer made into
    numbers and lists again, as compute('grad') takes a parsed body and gives the parts of one."""
    lists = {name: x.tolist() for name, x in inputs.items()}
    kinds = {name: x.dtype for name, x in inputs.items()}

    def step():
        tensors = {name: torch.tensor(lists[name], dtype=kinds[name], requires_grad=name in wrt) for name in lists}
        value = loss(**tensors)
        grads = torch.autograd.grad(value, [tensors[name] for name in wrt])
        return value.item(), [g.tolist() for g in grads]
    return median_seconds(step)


def param(*shape, scale=1.0):
    return (torch.rand(shape) - 0.5) * scale


def data(*shape, scale=1.0, shift=0.0):
    return (torch.rand(shape) - 0.5) * scale + shift


def lab_loop(x):
    z = torch.tensor(1.0)
    for i in range(100):
        z = (z + i) * x * x
    return z


def families():
    """Each family of bench/forms.ts: its name, its inputs, the differentiated ones, its loss."""
    A, U, V = data(150, 4, scale=4), param(150, 2), param(4, 2)
    fact = {'A': A, 'U': U, 'V': V}
    yield 'factorisation loss, sum of squares', fact, ['U', 'V'], lambda A, U, V: ((A - U @ V.T) ** 2).sum()
    yield 'factorisation loss, Frobenius norm', fact, ['U', 'V'], lambda A, U, V: torch.linalg.norm(A - U @ V.T, 'fro')

    X, y = data(100, 4, scale=2), torch.randint(0, 3, (100,))
    W1, b1, W2, b2 = param(4, 12), param(12, scale=0.1), param(12, 3), param(3, scale=0.1)
    mlp = {'X': X, 'y': y, 'W1': W1, 'b1': b1, 'W2': W2, 'b2': b2}
    yield ('MLP, relu, cross-entropy', mlp, ['W1', 'b1', 'W2', 'b2'],
           lambda X, y, W1, b1, W2, b2: F.cross_entropy(torch.relu(X @ W1 + b1) @ W2 + b2, y))
    tanh_mlp = {'X': X, 'y': y, 'W1': W1, 'c1': param(scale=0.1), 'W2': W2, 'c2': param(scale=0.1)}
    yield ('MLP, tanh, scalar biases', tanh_mlp, ['W1', 'c1', 'W2', 'c2'],
           lambda X, y, W1, c1, W2, c2: F.cross_entropy(torch.tanh(X @ W1 + c1) @ W2 + c2, y))
    yield 'softmax regression, hand-written', {'X': X, 'y': y, 'W': param(4, 3)}, ['W'], lambda X, y, W: F.cross_entropy(X @ W, y)

    t01 = (torch.rand(100) > 0.5).to(torch.float64)
    yield ('logistic regression', {'X': X, 't': t01, 'w': param(4), 'b': param()}, ['w', 'b'],
           lambda X, t, w, b: F.binary_cross_entropy(torch.sigmoid(X @ w + b), t))

    regression = {'X': data(100, 4, scale=2), 't': data(100, scale=2), 'w': param(4)}
    yield 'least squares', regression, ['w'], lambda X, t, w: ((X @ w - t) ** 2).sum()
    yield 'mean squared error', regression, ['w'], lambda X, t, w: F.mse_loss(X @ w, t)
    yield 'ridge regression', regression, ['w'], lambda X, t, w: ((X @ w - t) ** 2).sum() + 0.1 * (w ** 2).sum()

    x6, x4, x1 = {'x': param(1000, scale=6)}, {'x': param(1000, scale=4)}, {'x': param(1000)}
    yield 'softplus', x6, ['x'], lambda x: F.softplus(x).sum()
    yield 'sigmoid', x6, ['x'], lambda x: torch.sigmoid(x).sum()
    yield 'tanh', x4, ['x'], lambda x: torch.tanh(x).sum()
    yield 'log-sum-exp', x6, ['x'], lambda x: torch.logsumexp(x, 0)
    yield 'Euclidean norm', x1, ['x'], lambda x: torch.linalg.norm(x)

    v = data(1000, scale=4)
    gaussian = {'v': v, 'mu': param(), 'sigma': torch.rand(()) * 0.5 + 1.25}
    yield ('Gaussian log-likelihood', gaussian, ['mu', 'sigma'],
           lambda v, mu, sigma: torch.distributions.Normal(mu, sigma).log_prob(v).sum())
    cubic = {'v': v, 'a': param(), 'b': param(), 'c': param(), 'd': param()}
    yield 'cubic polynomial', cubic, ['a', 'b', 'c', 'd'], lambda v, a, b, c, d: (a * v ** 3 + b * v ** 2 + c * v + d).sum()

    yield "the lab's loop, 100 iterations", {'x': torch.rand(()) * 0.2 + 0.4}, ['x'], lab_loop
    yield 'Frobenius inner product', {'A': data(150, 4), 'B': param(150, 4)}, ['B'], lambda A, B: (A * B).sum()


def measure():
    seconds, from_lists = {}, {}
    for name, inputs, wrt, loss in families():
        prebuilt = {k: x.clone().requires_grad_(k in wrt) for k, x in inputs.items()}
        seconds[name] = timed(loss, prebuilt, wrt)
        from_lists[name] = timed_from_lists(loss, inputs, wrt)
    return seconds, from_lists


seconds, from_lists = measure()
print(json.dumps({'version': torch.__version__, 'seconds': seconds, 'fromLists': from_lists}))
