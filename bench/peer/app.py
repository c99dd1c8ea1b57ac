"""The service a Python user would build instead of adjoint, for `npm run bench:http` (issue 17):
FastAPI and torch.autograd in float64, answering adjoint's two benchmark requests with adjoint's
bodies and adjoint's numbers. Its programs are hard-coded: the lab's expression and the iris-size
MLP with fixed data; any other program is a 400. Run as such services are deployed, two workers:

    python3 -m gunicorn -k uvicorn.workers.UvicornWorker -w 2 -b 127.0.0.1:8000 bench.peer.app:app
"""
from typing import Any, Dict, List, Optional

import torch
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)

TINY = "x*y + sin(x)"
MLP = "H = relu(X * W1 + b1)\ncross_entropy(H * W2 + b2, y)"
MLP_PARAMS = ["W1", "b1", "W2", "b2"]

app = FastAPI()


class GradRequest(BaseModel):
    program: str
    at: Dict[str, Any]
    wrt: Optional[List[str]] = None


def tiny(at):
    x = torch.tensor(at["x"], requires_grad=True)
    y = torch.tensor(at["y"], requires_grad=True)
    value = x * y + torch.sin(x)
    gx, gy = torch.autograd.grad(value, [x, y])
    return {"value": value.item(), "grad": {"x": gx.item(), "y": gy.item()}}


def mlp(at):
    X = torch.tensor(at["X"])
    # adjoint's labels count from 1, PyTorch's from 0.
    y = torch.tensor(at["y"], dtype=torch.long) - 1
    params = [torch.tensor(at[name], requires_grad=True) for name in MLP_PARAMS]
    W1, b1, W2, b2 = params
    value = torch.nn.functional.cross_entropy(torch.relu(X @ W1 + b1) @ W2 + b2, y)
    grads = torch.autograd.grad(value, params)
    return {"value": value.item(), "grad": {name: g.tolist() for name, g in zip(MLP_PARAMS, grads)}}


# `async def`: the work is tens of microseconds of CPU, cheaper run on the event loop than handed
# to FastAPI's thread pool (a `def` route), so the peer is measured at its best.
@app.post("/v1/grad")
async def grad(request: GradRequest):
    if request.program == TINY:
        return tiny(request.at)
    if request.program == MLP:
        return mlp(request.at)
    raise HTTPException(status_code=400, detail="this peer knows two programs only")
