"""PyTorch's time for each family of bench/forms.ts: one forward and backward step
(torch.autograd.grad of the loss with respect to the family's parameters), float64, one thread,
the median of 21 runs of a batch after a warm-up, with the tensors built beforehand (PyTorch's
best case). Prints one JSON object: {"version": ..., "seconds": {family name: seconds}}.
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


def timed(loss, params):
    return median_seconds(lambda: torch.autograd.grad(loss(), params))


def factorisation():
    A, U, V = data(150, 4, scale=4), param(150, 2), param(4, 2)
    return (A, U, V)


def mlp():
    X, y = data(100, 4, scale=2), torch.randint(0, 3, (100,))
    return X, y, param(4, 12), param(12, scale=0.1), param(12, 3), param(3, scale=0.1)


def regression():
    return data(100, 4, scale=2), data(100, scale=2), param(4)


def families():
    A, U, V = factorisation()
    yield 'factorisation loss, sum of squares', timed(lambda: ((A - U @ V.T) ** 2).sum(), [U, V])
    yield 'factorisation loss, Frobenius norm', timed(lambda: torch.linalg.norm(A - U @ V.T, 'fro'), [U, V])

    X, y, W1, b1, W2, b2 = mlp()
    yield 'MLP, relu, cross-entropy', timed(lambda: F.cross_entropy(torch.relu(X @ W1 + b1) @ W2 + b2, y), [W1, b1, W2, b2])
    c1, c2 = param(scale=0.1), param(scale=0.1)
    yield 'MLP, tanh, scalar biases', timed(lambda: F.cross_entropy(torch.tanh(X @ W1 + c1) @ W2 + c2, y), [W1, c1, W2, c2])
    W = param(4, 3)
    yield 'softmax regression, hand-written', timed(lambda: F.cross_entropy(X @ W, y), [W])

    t01 = (torch.rand(100) > 0.5).to(torch.float64)
    w, b = param(4), param()
    yield 'logistic regression', timed(lambda: F.binary_cross_entropy(torch.sigmoid(X @ w + b), t01), [w, b])

    Xr, t, wr = regression()
    yield 'least squares', timed(lambda: ((Xr @ wr - t) ** 2).sum(), [wr])
    yield 'mean squared error', timed(lambda: F.mse_loss(Xr @ wr, t), [wr])
    yield 'ridge regression', timed(lambda: ((Xr @ wr - t) ** 2).sum() + 0.1 * (wr ** 2).sum(), [wr])

    x6 = param(1000, scale=6)
    yield 'softplus', timed(lambda: F.softplus(x6).sum(), [x6])
    yield 'sigmoid', timed(lambda: torch.sigmoid(x6).sum(), [x6])
    x4 = param(1000, scale=4)
    yield 'tanh', timed(lambda: torch.tanh(x4).sum(), [x4])
    yield 'log-sum-exp', timed(lambda: torch.logsumexp(x6, 0), [x6])
    x1 = param(1000)
    yield 'Euclidean norm', timed(lambda: torch.linalg.norm(x1), [x1])

    v = data(1000, scale=4)
    mu, sigma = param(), (torch.rand(()) * 0.5 + 1.25).requires_grad_()
    yield 'Gaussian log-likelihood', timed(lambda: torch.distributions.Normal(mu, sigma).log_prob(v).sum(), [mu, sigma])
    a, b, c, d = param(), param(), param(), param()
    yield 'cubic polynomial', timed(lambda: (a * v ** 3 + b * v ** 2 + c * v + d).sum(), [a, b, c, d])

    x = (torch.rand(()) * 0.2 + 0.4).requires_grad_()

    def loop():
        z = torch.tensor(1.0)
        for i in range(100):
            z = (z + i) * x * x
        return z
    yield "the lab's loop, 100 iterations", timed(loop, [x])

    Af, B = data(150, 4), param(150, 4)
    yield 'Frobenius inner product', timed(lambda: (Af * B).sum(), [B])


print(json.dumps({'version': torch.__version__, 'seconds': dict(families())}))
