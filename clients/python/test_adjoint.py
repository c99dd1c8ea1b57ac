"""Tests of the Python client against a running adjoint service.

    ADJOINT_URL=http://localhost:8080 python3 -m unittest -v test_adjoint   (in clients/python)

With ADJOINT_URL unset and nothing listening on localhost:8080 the tests are skipped; with
ADJOINT_URL set, an unreachable service is a failure. `npm test` runs them against a fresh
server (test/examples/python-client.test.ts).
"""

import contextlib
import io
import math
import os
import re
import unittest
import urllib.request

import adjoint
from adjoint import AdjointError, Client

URL = os.environ.get("ADJOINT_URL") or adjoint.DEFAULT_URL
LAB = {"program": "x*y + sin(x)", "at": {"x": 0.5, "y": 4.2}}
NORMAL_SQUARED = {"program": "z = rsample(normal(mu, sigma)); z^2", "at": {"mu": 0.5, "sigma": 1.5}}


def setUpModule():
    try:
        urllib.request.urlopen(URL.rstrip("/") + "/healthz", timeout=5).close()
    except OSError as e:
        if "ADJOINT_URL" in os.environ:
            raise
        raise unittest.SkipTest("no adjoint service at %s (%s); set ADJOINT_URL" % (URL, e))


class Gradients(unittest.TestCase):
    def setUp(self):
        self.client = Client(URL)

    def test_grad_of_the_lab_expression_in_both_modes(self):
        expected = {"value": 2.579425538604203, "grad": {"x": 5.077582561890373, "y": 0.5}}
        self.assertEqual(self.client.grad(**LAB), expected)
        self.assertEqual(self.client.grad(**LAB, options={"mode": "forward"}), expected)

    def test_grad_with_respect_to_some_inputs(self):
        self.assertEqual(self.client.grad(**LAB, wrt=["y"])["grad"], {"y": 0.5})

    def test_grad_of_a_vector_output_with_a_cotangent(self):
        answer = self.client.grad(
            "[2; 4] .* x + [1; 0] .* sin(x) + [0; 1] .* cos(x)",
            at={"x": [[1], [1]]},
            cotangent=[[1], [1]],
        )
        self.assertEqual(answer["grad"]["x"], [[2 + math.cos(1)], [4 - math.sin(1)]])

    def test_module_functions_use_ADJOINT_URL(self):
        self.assertEqual(adjoint.grad(**LAB)["grad"]["y"], 0.5)
        self.assertEqual(adjoint.eval("[1, 2] * [3; 4]")["value"], [11])

    def test_non_finite_numbers_travel_as_strings(self):
        answer = self.client.eval("x * 2", at={"x": float("inf")})
        self.assertEqual(answer["value"], "Infinity")
        self.assertEqual(adjoint.to_float(answer["value"]), math.inf)
        self.assertTrue(math.isnan(adjoint.to_float(self.client.eval("x", at={"x": float("nan")})["value"])))

    def test_a_graph_instead_of_a_program(self):
        graph = {
            "nodes": [
                {"id": "a", "op": "multiply", "args": ["x", "y"]},
                {"id": "b", "op": "sin", "args": ["x"]},
                {"id": "z", "op": "add", "args": ["a", "b"]},
            ],
            "output": "z",
        }
        self.assertEqual(self.client.grad(graph=graph, at=LAB["at"])["grad"]["x"], 5.077582561890373)


class Grading(unittest.TestCase):
    def setUp(self):
        self.client = Client(URL)

    def test_a_correct_symbolic_derivative_passes_at_random_points(self):
        result = self.client.check(
            LAB["program"],
            answer={"grad": {"x": "y + cos(x)", "y": "x"}},
            random={"n": 50, "ranges": {"x": [-3, 3], "y": [-3, 3]}},
            seed=1,
        )
        self.assertTrue(result["pass"])
        self.assertEqual((result["score"], result["points"], result["failures"]), (1, 50, []))

    def test_a_wrong_derivative_fails_with_the_points(self):
        result = self.client.check(
            "sin(x^2)", answer={"grad": {"x": "cos(x^2)"}}, random={"n": 5, "ranges": {"x": [0.5, 2]}}, seed=3
        )
        self.assertFalse(result["pass"])
        self.assertEqual(result["score"], 0)
        failure = result["failures"][0]
        x = failure["point"]["x"]
        self.assertAlmostEqual(failure["expected"], 2 * x * math.cos(x * x), places=12)
        self.assertAlmostEqual(failure["got"], math.cos(x * x), places=12)

    def test_the_same_seed_gives_the_same_points(self):
        body = dict(answer={"grad": {"x": "2*x"}}, random={"n": 4, "ranges": {"x": [-1, 1]}}, seed=9)
        first = self.client.check("x^3", **body)
        second = self.client.check("x^3", **body)
        self.assertEqual(first, second)
        self.assertEqual(len(first["failures"]), 4)

    def test_garbage_is_graded_wrong_not_an_error(self):
        result = self.client.check("x^2", answer={"grad": {"x": "2*x*("}}, at={"x": 3})
        self.assertFalse(result["pass"])
        self.assertEqual(result["failures"][0]["code"], "PARSE_ERROR")
        self.assertIn("parse", result["failures"][0]["reason"])

    def test_a_hand_filled_trace(self):
        result = self.client.check(
            LAB["program"],
            at=LAB["at"],
            answer={"trace": [{"id": "v1", "tangent": 4.2}, {"id": "v2", "tangent": 0.479425538604203}]},
        )
        self.assertFalse(result["pass"])
        self.assertEqual(result["trace"]["firstWrong"]["id"], "v2")

    def test_gradcheck(self):
        result = self.client.check("logsumexp(x)", at={"x": [0.1, -0.4, 2]}, gradcheck=True)
        self.assertTrue(result["pass"])


class Batches(unittest.TestCase):
    def test_results_in_order_and_a_bad_item_fails_alone(self):
        results = adjoint.batch(
            [
                {"endpoint": "grad", "program": "x^2", "at": {"x": 3}},
                {"endpoint": "eval", "program": "sigmod(1)"},
                {"endpoint": "check", "program": "x^2", "at": {"x": 3}, "answer": {"grad": {"x": "2*x"}}},
            ]
        )
        self.assertEqual(results[0], {"value": 9, "grad": {"x": 6}})
        self.assertEqual(results[1]["error"]["code"], "UNKNOWN_NAME")
        self.assertIn("sigmoid", results[1]["error"]["detail"])
        self.assertTrue(results[2]["pass"])

    def test_a_batch_streamed_item_by_item(self):
        messages = list(
            adjoint.stream("batch", {"requests": [{"endpoint": "eval", "program": "1 + 1"}, {"endpoint": "eval", "program": "2 + 2"}]})
        )
        items = sorted((m["index"], m) for m in messages if m["type"] == "item")
        self.assertEqual([i for i, _ in items], [0, 1])
        self.assertEqual(messages[-1]["type"], "result")
        self.assertEqual([r["value"] for r in messages[-1]["results"]], [2, 4])


class Sampling(unittest.TestCase):
    def setUp(self):
        self.client = Client(URL)

    def test_sample_streams_running_estimates_then_the_result(self):
        messages = list(self.client.sample(**NORMAL_SQUARED, n=3000, seed=7))
        kinds = [m["type"] for m in messages]
        self.assertEqual(kinds, ["samples"] * (len(kinds) - 1) + ["result"])
        self.assertGreaterEqual(len(kinds), 3)
        done = [m["done"] for m in messages[:-1]]
        self.assertEqual(done, sorted(done))
        self.assertEqual(done[-1], 3000)
        result = dict(messages[-1])
        del result["type"]
        self.assertEqual(result, self.client.compute("sample", dict(NORMAL_SQUARED, n=3000, seed=7)))
        self.assertEqual(result["mean"], messages[-2]["mean"])

    def test_the_estimate_is_near_the_true_gradient(self):
        *_, result = self.client.sample(**NORMAL_SQUARED, n=20000, seed=11)
        for name, exact in (("mu", 1.0), ("sigma", 3.0)):
            self.assertLess(abs(result["mean"]["grad"][name] - exact), 5 * result["stderr"]["grad"][name])

    def test_the_generator_is_lazy_and_errors_raise(self):
        messages = self.client.sample("rsample(bernoulli(p))", at={"p": 0.3}, n=10)
        with self.assertRaises(AdjointError) as caught:
            next(messages)
        self.assertEqual((caught.exception.status, caught.exception.code), (422, "INVALID_ARGUMENT"))
        self.assertIn("score", caught.exception.detail)

    def test_an_invalid_request_raises(self):
        # refused by the schema before the stream starts: an HTTP 400
        with self.assertRaises(AdjointError) as caught:
            list(self.client.sample(**NORMAL_SQUARED, n="many"))
        self.assertEqual((caught.exception.status, caught.exception.code, caught.exception.path), (400, "INVALID_REQUEST", "/n"))
        # refused by the computation: an error message in the stream
        with self.assertRaises(AdjointError) as caught:
            list(self.client.sample(**NORMAL_SQUARED, n=0))
        self.assertEqual((caught.exception.status, caught.exception.code, caught.exception.path), (422, "INVALID_ARGUMENT", "/n"))


class Optimisation(unittest.TestCase):
    def test_gradient_descent_on_a_vector(self):
        result = adjoint.optimize(
            "sum(x .^ 2)", params={"x": [[2], [1], [10]]}, optimizer={"name": "sgd", "lr": 0.1}, steps=100, every=10
        )
        self.assertEqual(result["history"][0], {"step": 0, "loss": 105})
        self.assertEqual([h["step"] for h in result["history"]], list(range(0, 100, 10)))
        for got, start in zip(result["params"]["x"], (2, 1, 10)):
            self.assertAlmostEqual(got[0], 0.8**100 * start, delta=1e-20)

    def test_progress_streamed(self):
        body = {"program": "sum(x .^ 2)", "params": {"x": [1.0, -2.0]}, "optimizer": {"name": "adam", "lr": 0.1}, "steps": 20, "every": 5}
        messages = list(adjoint.stream("optimize", body))
        self.assertEqual([m["step"] for m in messages if m["type"] == "progress"], [0, 5, 10, 15])
        self.assertEqual(messages[-1]["type"], "result")


class Errors(unittest.TestCase):
    def setUp(self):
        self.client = Client(URL)

    def test_a_program_error_carries_its_location(self):
        with self.assertRaises(AdjointError) as caught:
            self.client.grad("x = (1 +", at={})
        e = caught.exception
        self.assertEqual((e.status, e.code, e.line, e.column), (422, "PARSE_ERROR", 1, 9))
        self.assertEqual(e.problem["type"], "/problems/parse-error")
        self.assertIn("PARSE_ERROR", str(e))

    def test_a_request_error_carries_its_path(self):
        with self.assertRaises(AdjointError) as caught:
            self.client.optimize("sum(x .^ 2)", params={"x": [1.0]}, optimizer={"name": "sgd", "lr": -1}, steps=3)
        self.assertEqual(caught.exception.path, "/optimizer/lr")

    def test_a_non_scalar_without_a_cotangent(self):
        with self.assertRaises(AdjointError) as caught:
            self.client.grad("[x, 2 * x]", at={"x": 1})
        self.assertEqual(caught.exception.code, "NOT_SCALAR")

    def test_an_unreachable_service(self):
        with self.assertRaises(AdjointError) as caught:
            Client("http://127.0.0.1:9", timeout=5).eval("1")
        self.assertEqual((caught.exception.status, caught.exception.code), (0, "UNREACHABLE"))


def readme_examples():
    """Each ```python block of README.md with the ```text block shown after it (what it prints)."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "README.md"), encoding="utf-8") as f:
        text = f.read()
    pattern = re.compile(r"```python\n(.*?)```\s*\n\s*prints\s*\n\s*```text\n(.*?)```", re.S)
    return [(text[: m.start()].count("\n") + 1, m.group(1), m.group(2)) for m in pattern.finditer(text)]


class Readme(unittest.TestCase):
    def test_every_example_prints_what_the_page_shows(self):
        examples = readme_examples()
        self.assertGreaterEqual(len(examples), 4)
        for line, code, shown in examples:
            with self.subTest(line=line):
                printed = io.StringIO()
                with contextlib.redirect_stdout(printed):
                    exec(compile(code, "README.md, line %d" % line, "exec"), {"__name__": "readme"})
                self.assertEqual(printed.getvalue(), shown)


if __name__ == "__main__":
    unittest.main()
