"""A client for the adjoint gradient-evaluation service, with nothing but the standard library.

    import adjoint

    adjoint.grad("x*y + sin(x)", at={"x": 0.5, "y": 4.2})
    # {'value': 2.579425538604203, 'grad': {'x': 5.077582561890373, 'y': 0.5}}

The module-level functions use a client for the URL in the environment variable ADJOINT_URL
(default http://localhost:8080) and the API key in ADJOINT_API_KEY, if any; make a `Client`
for anything else. Every function takes the request's other fields as keyword arguments
(`wrt`, `seed`, `options`, `cotangent`, `graph`, ...) and returns the service's JSON answer as
Python values. Errors raise `AdjointError`, which carries the problem the service sent
(status, code, detail and, where they apply, line, column, path).

Non-finite floats in a request (float("nan"), float("inf")) are sent as the strings "NaN",
"Infinity", "-Infinity", as the service expects; answers carry non-finite numbers as those
strings too (see `to_float`).
"""

import json
import math
import os
import time
import urllib.error
import urllib.request

__all__ = [
    "AdjointError",
    "Client",
    "batch",
    "check",
    "compute",
    "eval",
    "grad",
    "optimize",
    "sample",
    "stream",
    "to_float",
]

NDJSON = "application/x-ndjson"
DEFAULT_URL = "http://localhost:8080"


class AdjointError(Exception):
    """A problem answered by the service (RFC 9457): `status`, `code`, `detail`, and the
    whole body in `problem` (with `line`/`column` for an error in a program, `path` for one in
    the request). A failure to reach the service has status 0 and code "UNREACHABLE"."""

    def __init__(self, problem):
        self.problem = dict(problem)
        self.status = self.problem.get("status", 0)
        self.code = self.problem.get("code", "UNKNOWN")
        self.detail = self.problem.get("detail", "")
        self.line = self.problem.get("line")
        self.column = self.problem.get("column")
        self.path = self.problem.get("path")
        where = ""
        if self.line is not None:
            where = " (line %s, column %s)" % (self.line, self.column)
        elif self.path is not None:
            where = " (at %s)" % (self.path or "/")
        super().__init__("%s %s: %s%s" % (self.status, self.code, self.detail, where))


def to_float(x):
    """A number of an answer as a float: the strings "NaN", "Infinity", "-Infinity" included."""
    if isinstance(x, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[x]
    return float(x)


def _encodable(value):
    """The request with non-finite floats as the strings the service reads."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _encodable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encodable(v) for v in value]
    return value


def _body(program, at, fields):
    body = {k: v for k, v in fields.items() if v is not None}
    if program is not None:
        body["program"] = program
    if at is not None:
        body["at"] = at
    return body


class Client:
    """The service at `url`. `api_key` is sent as a bearer token; `timeout` (seconds) bounds
    each request; `retries` is how many times a request refused with 429 or 503 is repeated,
    after the Retry-After the service asks for (at most `max_wait` seconds)."""

    def __init__(self, url=None, api_key=None, timeout=60.0, retries=2, max_wait=10.0):
        self.url = (url or os.environ.get("ADJOINT_URL") or DEFAULT_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("ADJOINT_API_KEY")
        self.timeout = timeout
        self.retries = retries
        self.max_wait = max_wait

    # The transport

    def _open(self, endpoint, body, accept):
        data = json.dumps(_encodable(body), allow_nan=False).encode("utf-8")
        headers = {"content-type": "application/json", "accept": accept}
        if self.api_key:
            headers["authorization"] = "Bearer " + self.api_key
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(
                "%s/v1/%s" % (self.url, endpoint), data=data, headers=headers, method="POST"
            )
            try:
                return urllib.request.urlopen(request, timeout=self.timeout)
            except urllib.error.HTTPError as e:
                problem = _problem_of(e)
                if e.code in (429, 503) and attempt < self.retries:
                    time.sleep(min(_retry_after(e), self.max_wait))
                    continue
                raise AdjointError(problem) from None
            except urllib.error.URLError as e:
                raise AdjointError(
                    {"status": 0, "code": "UNREACHABLE", "detail": "%s: %s" % (self.url, e.reason)}
                ) from None
        raise AssertionError("unreachable")

    def compute(self, endpoint, body):
        """POST /v1/<endpoint> with `body` (a dict); the answer as Python values."""
        with self._open(endpoint, body, "application/json") as response:
            return json.loads(response.read().decode("utf-8"))

    def stream(self, endpoint, body):
        """POST /v1/<endpoint> asking for NDJSON: yields each message as it arrives (for
        `sample`, {"type": "samples", ...}; for `optimize`, {"type": "progress", ...}; for
        `batch`, {"type": "item", ...}), then the final {"type": "result", ...}. An error, before
        or during the stream, raises AdjointError."""
        with self._open(endpoint, body, NDJSON) as response:
            for raw in response:
                line = raw.strip()
                if not line:
                    continue
                message = json.loads(line.decode("utf-8"))
                if message.get("type") == "error":
                    raise AdjointError(message.get("error", message))
                yield message
                if message.get("type") == "result":
                    return

    # The endpoints

    def eval(self, program=None, at=None, **fields):
        """The program's value: {"value": ...}."""
        return self.compute("eval", _body(program, at, fields))

    def grad(self, program=None, at=None, wrt=None, **fields):
        """The value and the gradient: {"value", "grad": {name: g}}. `cotangent` for a
        non-scalar output, `options={"mode": "forward"}` for forward mode."""
        return self.compute("grad", _body(program, at, dict(fields, wrt=wrt)))

    def check(self, program=None, answer=None, at=None, **fields):
        """Grades `answer` ({"value": ...}, {"grad": {name: number or expression}} or
        {"trace": [...]}) against the program, at `at`, `points=[...]` or
        `random={"n": n, "ranges": {name: [lo, hi]}}` with a `seed`; `rtol`, `atol`;
        `gradcheck=True` instead of an answer. Returns {"pass", "score", "failures", ...}."""
        return self.compute("check", _body(program, at, dict(fields, answer=answer)))

    def batch(self, requests, **fields):
        """Many requests in one: each a dict with its "endpoint" and its body. Returns the list
        of results in order; an item that failed is {"error": problem} and does not fail the rest."""
        return self.compute("batch", dict(fields, requests=list(requests)))["results"]

    def sample(self, program=None, at=None, n=1000, **fields):
        """Monte Carlo: runs the program `n` times with independent draws (fix them with `seed`).
        A generator: yields each {"type": "samples", ...} message (the running estimate after
        each chunk) as it arrives, then the final {"type": "result", "mean", "stderr", ...}."""
        return self.stream("sample", _body(program, at, dict(fields, n=n)))

    def optimize(self, program=None, params=None, optimizer=None, steps=100, at=None, **fields):
        """Gradient-based optimisation of `params` ({name: initial value}) with `optimizer`
        ({"name": "sgd", "lr": 0.01, ...}, PyTorch's rules) for `steps` steps; `every` sets the
        history's spacing. Returns {"params", "loss", "history", ...}."""
        body = _body(program, at, dict(fields, params=params, optimizer=optimizer, steps=steps))
        return self.compute("optimize", body)


def _problem_of(error):
    try:
        problem = json.loads(error.read().decode("utf-8"))
        if isinstance(problem, dict):
            problem.setdefault("status", error.code)
            return problem
    except (ValueError, OSError):
        pass
    return {"status": error.code, "code": "HTTP_%d" % error.code, "detail": str(error.reason)}


def _retry_after(error):
    try:
        return max(0.0, float(error.headers.get("retry-after", "1")))
    except ValueError:
        return 1.0


_default = None


def _client():
    global _default
    if _default is None:
        _default = Client()
    return _default


def compute(endpoint, body):
    return _client().compute(endpoint, body)


def stream(endpoint, body):
    return _client().stream(endpoint, body)


def eval(program=None, at=None, **fields):  # noqa: A001 - the endpoint's name
    return _client().eval(program, at, **fields)


def grad(program=None, at=None, wrt=None, **fields):
    return _client().grad(program, at, wrt, **fields)


def check(program=None, answer=None, at=None, **fields):
    return _client().check(program, answer, at, **fields)


def batch(requests, **fields):
    return _client().batch(requests, **fields)


def sample(program=None, at=None, n=1000, **fields):
    return _client().sample(program, at, n, **fields)


def optimize(program=None, params=None, optimizer=None, steps=100, at=None, **fields):
    return _client().optimize(program, params, optimizer, steps, at, **fields)


for _name in ("compute", "stream", "eval", "grad", "check", "batch", "sample", "optimize"):
    globals()[_name].__doc__ = getattr(Client, _name).__doc__
del _name
