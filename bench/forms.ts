/**
 * The forms table (issue 17): programs from the lab and its exercise, each written two or three
 * ways as students write them, timed as `compute('grad')` calls with fresh data each call (the
 * data fixed, the parameters differentiated: what an autograder sends), against PyTorch's
 * forward and backward step for the same function (bench/forms_torch.py), measured in the same
 * run. Two forms of one family compute the same function, so they should cost about the same.
 *
 * Every family here has its PyTorch twin, under the same name, in bench/forms_torch.py.
 */
import { computeSync } from '../src/index.js';

type Nested = number | Nested[];

/** One family of forms: the inputs it takes (the data and the parameters), and the ways to write it. */
export interface Family {
  readonly name: string;
  /** The inputs of call `k`: fresh data and parameters for each. */
  readonly inputs: (random: () => number) => Record<string, Nested>;
  /** The differentiated inputs: the others are data. */
  readonly wrt: readonly string[];
  readonly forms: readonly string[];
}

const matrix = (random: () => number, rows: number, columns: number, scale = 1, shift = 0): number[][] =>
  Array.from({ length: rows }, () => Array.from({ length: columns }, () => (random() - 0.5) * scale + shift));
const vector = (random: () => number, n: number, scale = 1, shift = 0): number[] => Array.from({ length: n }, () => (random() - 0.5) * scale + shift);
const scalar = (random: () => number, scale = 1, shift = 0): number => (random() - 0.5) * scale + shift;
/** Class labels 1..3, as the language's cross_entropy takes them. */
const labels = (random: () => number, n: number): number[] => Array.from({ length: n }, () => 1 + Math.floor(random() * 3));
const oneHot = (ys: number[]): number[][] => ys.map((y) => [1, 2, 3].map((c) => (c === y ? 1 : 0)));

/** The factorisation exercise: the iris data's size (150x4), rank 2. */
const factorisation = (random: () => number) => ({ A: matrix(random, 150, 4, 4), U: matrix(random, 150, 2), V: matrix(random, 4, 2) });

/** The lab's MLP: 100 examples of 4 features, 12 hidden units, 3 classes. */
function mlp(random: () => number): Record<string, Nested> {
  const y = labels(random, 100);
  return { X: matrix(random, 100, 4, 2), y, Y: oneHot(y), W1: matrix(random, 4, 12), b1: vector(random, 12, 0.1), W2: matrix(random, 12, 3), b2: vector(random, 3, 0.1) };
}

const regression = (random: () => number) => ({ X: matrix(random, 100, 4, 2), t: vector(random, 100, 2), w: vector(random, 4), lambda: 0.1 });

export const FAMILIES: readonly Family[] = [
  {
    name: 'factorisation loss, sum of squares',
    inputs: factorisation,
    wrt: ['U', 'V'],
    forms: ["sum((A - U * V') .^ 2)", "sum(sum((A - U * V') .^ 2))", "D = A - U * V'\nsum(D .* D)"],
  },
  {
    name: 'factorisation loss, Frobenius norm',
    inputs: factorisation,
    wrt: ['U', 'V'],
    forms: ["norm(A - U * V', \"fro\")", "sqrt(sum((A - U * V') .^ 2))"],
  },
  {
    name: 'MLP, relu, cross-entropy',
    inputs: mlp,
    wrt: ['W1', 'b1', 'W2', 'b2'],
    forms: ['H = relu(X * W1 + b1)\ncross_entropy(H * W2 + b2, y)', 'cross_entropy(relu(X * W1 + b1) * W2 + b2, y)', 'Z = relu(X * W1 + b1) * W2 + b2\n-mean(sum(log_softmax(Z, 2) .* Y, 2))'],
  },
  {
    name: 'MLP, tanh, scalar biases',
    // The MLP's data and weights, its biases the two scalars (an input nobody reads is not sent).
    inputs: (random) => {
      const { X, y, W1, W2 } = mlp(random);
      return { X, y, W1, W2, c1: scalar(random, 0.1), c2: scalar(random, 0.1) };
    },
    wrt: ['W1', 'c1', 'W2', 'c2'],
    forms: ['H = tanh(X * W1 + c1)\ncross_entropy(H * W2 + c2, y)', 'cross_entropy(tanh(X * W1 + c1 * ones(1, 12)) * W2 + c2 * ones(1, 3), y)'],
  },
  {
    name: 'softmax regression, hand-written',
    inputs: (random) => {
      const { X, y, Y } = mlp(random);
      return { X, y, Y, W: matrix(random, 4, 3) };
    },
    wrt: ['W'],
    forms: ['cross_entropy(X * W, y)', 'Z = X * W\nmean(logsumexp(Z, 2) - sum(Z .* Y, 2))'],
  },
  {
    name: 'logistic regression',
    inputs: (random) => ({ X: matrix(random, 100, 4, 2), t: vector(random, 100).map((v) => (v > 0 ? 1 : 0)), w: vector(random, 4), b: scalar(random) }),
    wrt: ['w', 'b'],
    forms: [
      'p = sigmoid(X * w + b)\n-mean(t .* log(p) + (1 - t) .* log(1 - p))',
      'binary_cross_entropy(sigmoid(X * w + b), t)',
      'z = X * w + b\nmean(softplus(z) - t .* z)',
    ],
  },
  {
    name: 'least squares',
    inputs: regression,
    wrt: ['w'],
    forms: ['sum((X * w - t) .^ 2)', "r = X * w - t\nr' * r", 'norm(X * w - t)^2'],
  },
  {
    name: 'mean squared error',
    inputs: regression,
    wrt: ['w'],
    forms: ['mean((X * w - t) .^ 2)', 'sum((X * w - t) .^ 2) / 100', 'mse_loss(X * w, t)'],
  },
  {
    name: 'ridge regression',
    inputs: regression,
    wrt: ['w'],
    forms: ['sum((X * w - t) .^ 2) + lambda * sum(w .^ 2)', "sum((X * w - t) .^ 2) + lambda * (w' * w)", 'sum((X * w - t) .^ 2) + lambda * norm(w)^2'],
  },
  {
    name: 'softplus',
    inputs: (random) => ({ x: vector(random, 1000, 6) }),
    wrt: ['x'],
    forms: ['sum(log(1 + exp(x)))', 'sum(softplus(x))', 'sum(log1p(exp(x)))'],
  },
  {
    name: 'sigmoid',
    inputs: (random) => ({ x: vector(random, 1000, 6) }),
    wrt: ['x'],
    forms: ['sum(1 ./ (1 + exp(-x)))', 'sum(sigmoid(x))'],
  },
  {
    name: 'tanh',
    inputs: (random) => ({ x: vector(random, 1000, 4) }),
    wrt: ['x'],
    forms: ['sum(tanh(x))', 'sum((exp(x) - exp(-x)) ./ (exp(x) + exp(-x)))'],
  },
  {
    name: 'log-sum-exp',
    inputs: (random) => ({ x: vector(random, 1000, 6) }),
    wrt: ['x'],
    forms: ['log(sum(exp(x)))', 'logsumexp(x)', 'm = max(x)\nm + log(sum(exp(x - m)))'],
  },
  {
    name: 'Euclidean norm',
    inputs: (random) => ({ x: vector(random, 1000) }),
    wrt: ['x'],
    forms: ['norm(x)', 'sqrt(sum(x .^ 2))', 'sqrt(dot(x, x))'],
  },
  {
    name: 'Gaussian log-likelihood',
    inputs: (random) => ({ v: vector(random, 1000, 4), mu: scalar(random), sigma: scalar(random, 0.5, 1.5) }),
    wrt: ['mu', 'sigma'],
    forms: ['sum(log_prob(normal(mu, sigma), v))', 'sum(-0.5 * ((v - mu) / sigma) .^ 2 - log(sigma) - 0.5 * log(2 * pi))'],
  },
  {
    name: 'cubic polynomial',
    inputs: (random) => ({ v: vector(random, 1000, 4), a: scalar(random), b: scalar(random), c: scalar(random), d: scalar(random) }),
    wrt: ['a', 'b', 'c', 'd'],
    forms: ['sum(a * v .^ 3 + b * v .^ 2 + c * v + d)', 'sum(((a * v + b) .* v + c) .* v + d)'],
  },
  {
    name: "the lab's loop, 100 iterations",
    inputs: (random) => ({ x: scalar(random, 0.2, 0.5) }),
    wrt: ['x'],
    forms: ['z = 1\nfor i = 0:99\n  z = (z + i) * x * x\nend\nz', 'z = 1\ni = 0\nwhile i < 100\n  z = (z + i) * x^2\n  i = i + 1\nend\nz'],
  },
  {
    name: 'Frobenius inner product',
    inputs: (random) => ({ A: matrix(random, 150, 4), B: matrix(random, 150, 4) }),
    wrt: ['B'],
    forms: ["trace(A' * B)", 'sum(sum(A .* B))', 'sum(A .* B)'],
  },
];

/** A small linear congruential generator: the same data on every run. */
function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Distinct bodies per form: more than any cache of plans or data holds, so each call meets new data. */
const VARIANTS = 512;
/** The least seconds each form runs before it is timed. */
const WARM_UP = 0.25;

export interface FormTiming {
  readonly family: string;
  readonly form: string;
  /** Median seconds per `compute('grad')` call. */
  readonly seconds: number;
}

/**
 * Median, over seven batches of about `budget` seconds of computing each, of the mean seconds
 * per `compute('grad')` call, after a warm-up. Each call gets a body parsed from its JSON text
 * just before it, untimed, as a server parses a request just before computing it. Bodies built
 * once and used again hid a cost: V8 converted their arrays once, in the warm-up, while every
 * fresh request's were converted again, which made decoding four times slower (9e92838).
 */
function measure(texts: readonly string[], budget = 0.05): number {
  let k = 0;
  const call = (): number => {
    const body = JSON.parse(texts[k++ % texts.length]) as Parameters<typeof computeSync>[1];
    const t0 = performance.now();
    computeSync('grad', body);
    return performance.now() - t0;
  };
  const batch = (calls: number): number => {
    let spent = 0;
    for (let i = 0; i < calls; i++) spent += call();
    return spent / 1000;
  };
  let calls = 1;
  while (batch(calls) <= budget / 4) calls *= 2;
  const samples = Array.from({ length: 7 }, () => batch(calls) / calls).sort((a, b) => a - b);
  return samples[3];
}

/** Times every form of every family, each call with new data. */
export function timeForms(families: readonly Family[] = FAMILIES): FormTiming[] {
  const timings: FormTiming[] = [];
  families.forEach((family, f) => {
    const random = generator(1000 + f);
    // The same data for every form of the family, made before the clock starts.
    const inputs = Array.from({ length: VARIANTS }, () => family.inputs(random));
    // The forms compute the same function: their values must agree before their times mean anything.
    const values = family.forms.map((form) => (computeSync('grad', { program: form, at: inputs[0], wrt: family.wrt }) as { value: number }).value);
    if (values.some((v) => !(Math.abs(v - values[0]) <= 1e-9 * Math.abs(values[0])))) {
      throw new Error(`the forms of "${family.name}" disagree: ${family.forms.map((form, i) => `${JSON.stringify(form)} = ${values[i]}`).join(', ')}`);
    }
    const textsOf = (form: string) => inputs.map((at) => JSON.stringify({ program: form, at, wrt: family.wrt }));
    for (const form of family.forms) {
      const texts = textsOf(form);
      // Each form over all its data, and for at least WARM_UP seconds, before the clock starts: its
      // plan made and its code optimised. One pass was not enough for the first scalar program of
      // the run, which then paid for optimising the path every scalar program takes: the lab's
      // loop measured 11.5 µs as the table's first scalar form, 3.1 µs in a second run.
      const started = performance.now();
      for (let k = 0; k < texts.length || performance.now() - started < 1000 * WARM_UP; k++) {
        computeSync('grad', JSON.parse(texts[k % texts.length]) as Parameters<typeof computeSync>[1]);
      }
      timings.push({ family: family.name, form, seconds: measure(texts) });
    }
  });
  return timings;
}
