"""PyTorch's time for the work `npm run bench` measures, when PyTorch is installed (Debian 12's
python3-torch is PyTorch 1.13, the version the issues quote): float64, one thread, the median of
21 runs after 20 warm-ups. Prints one JSON object of seconds. Usage: torch_baseline.py IRIS_CSV"""
import csv
import json
import sys
import time

import torch

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)
torch.manual_seed(0)


def median_seconds(run, warmups=20, runs=21):
    for _ in range(warmups):
        run()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


rows = list(csv.reader(open(sys.argv[1])))[1:]
species = list(dict.fromkeys(r[4] for r in rows))
features = torch.tensor([[float(v) for v in r[:4]] for r in rows])
labels = torch.tensor([species.index(r[4]) for r in rows])


def mlp_loss(X, y, W1, b1, W2, b2):
    return torch.nn.functional.cross_entropy(torch.relu(X @ W1 + b1) @ W2 + b2, y)


def mlp_params():
    return [(torch.rand(4, 12) - 0.5).requires_grad_(), torch.zeros(12, requires_grad=True),
            (torch.rand(12, 3) - 0.5).requires_grad_(), torch.zeros(3, requires_grad=True)]


# One forward and backward step of the iris-size MLP (100x4 data), as `npm run bench`'s mlp row.
X100 = torch.rand(100, 4) - 0.5
y100 = torch.arange(100) % 3
step_params = mlp_params()
mlp_step = median_seconds(lambda: torch.autograd.grad(mlp_loss(X100, y100, *step_params), step_params), runs=201)

# The iris MLP's 100 epochs of sgd on the 120 training rows (40 of each species), then the final
# loss, as POST /v1/optimize reports it.
train = [i for s in range(3) for i in [j for j in range(150) if labels[j] == s][:40]]
X, y = features[train], labels[train]


def mlp_epochs():
    params = mlp_params()
    optimizer = torch.optim.SGD(params, lr=0.01)
    for _ in range(100):
        optimizer.zero_grad()
        mlp_loss(X, y, *params).backward()
        optimizer.step()
    with torch.no_grad():
        return mlp_loss(X, y, *params).item()


# The lab's rank-2 factorisation of the mean-centred data: 1000 steps of sgd on the Frobenius norm.
A = features - features.mean(0)


# The same factorisation's loss as students write it, each form beside adjoint's (bench/run.ts's
# FACTORISATION_FORMS, in the same order): 1000 steps of sgd each.
FACTORISATION_LOSSES = {
    "sum((A - U * V') .^ 2)": lambda U, V: ((A - U @ V.T) ** 2).sum(),
    "sum(sum((A - U * V') .^ 2))": lambda U, V: ((A - U @ V.T) ** 2).sum(0).sum(),
    "D = A - U * V'; sum(D .* D)": lambda U, V: (lambda D: (D * D).sum())(A - U @ V.T),
    "norm(A - U * V', \"fro\")": lambda U, V: torch.linalg.norm(A - U @ V.T, 'fro'),
}


def factorisation_with(loss):
    def run():
        U = torch.rand(150, 2).requires_grad_()
        V = torch.rand(4, 2).requires_grad_()
        optimizer = torch.optim.SGD([U, V], lr=0.01)
        for _ in range(1000):
            optimizer.zero_grad()
            loss(U, V).backward()
            optimizer.step()
    return run


# The figure issue 2 quotes: the Frobenius norm's form.
factorisation = factorisation_with(FACTORISATION_LOSSES["norm(A - U * V', \"fro\")"])

print(json.dumps({
    'version': torch.__version__,
    'mlpStep': mlp_step,
    'mlpEpochs': median_seconds(mlp_epochs),
    'factorisation': median_seconds(factorisation, warmups=3, runs=5),
    'factorisationForms': [median_seconds(factorisation_with(loss), warmups=2, runs=5) for loss in FACTORISATION_LOSSES.values()],
}))
