/* global console */
// The lab's exercise, part 2: a multilayer perceptron on the iris data through POST /v1/optimize:
// logits = relu(X W1 + b1) W2 + b2 (4 -> 12 -> 3), cross-entropy, full-batch gradient descent;
// then the accuracy on the training and the validation rows, from logits computed by /v1/eval.
//
//   node examples/lab2/iris-mlp.mjs           (ADJOINT_URL, default http://localhost:8080)
import { fixed, post, readIris } from './adjoint.mjs';

const HIDDEN = 12;
const LOSS = 'H = relu(X * W1 + b1)\ncross_entropy(H * W2 + b2, y)';
const LOGITS = 'relu(X * W1 + b1) * W2 + b2';

/** A seeded generator of uniforms in [0, 1): the 32-bit LCG of Numerical Recipes, the same on any machine. */
function lcg(seed) {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(1664525, state) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** A Fisher-Yates shuffle of a copy of `items`. */
function shuffled(items, random) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const { features, labels } = readIris();

// Each feature standardised (zero mean, unit variance over the 150 rows).
const columns = features[0].map((_, j) => features.map((r) => r[j]));
const means = columns.map((c) => c.reduce((s, v) => s + v, 0) / c.length);
const sds = columns.map((c, j) => Math.sqrt(c.reduce((s, v) => s + (v - means[j]) ** 2, 0) / c.length));
const X = features.map((r) => r.map((v, j) => (v - means[j]) / sds[j]));

// A stratified split with a fixed seed: of each species' 50 rows, 40 train and 10 validate.
const random = lcg(2024);
const train = [];
const validation = [];
for (const label of [1, 2, 3]) {
  const rows = shuffled(labels.flatMap((l, i) => (l === label ? [i] : [])), random);
  train.push(...rows.slice(0, 40));
  validation.push(...rows.slice(40));
}
const data = (rows) => ({ X: rows.map((i) => X[i]), y: rows.map((i) => labels[i]) });

// W1 and W2 standard normal (torch.randn in the lab), drawn by the service with fixed seeds; biases zero.
const [{ value: W1 }, { value: W2 }] = (
  await post('batch', {
    requests: [
      { endpoint: 'eval', program: `randn(4, ${HIDDEN})`, seed: 3 },
      { endpoint: 'eval', program: `randn(${HIDDEN}, 3)`, seed: 4 },
    ],
  })
).results;
const initial = { W1, b1: new Array(HIDDEN).fill(0), W2, b2: [0, 0, 0] };

/** The fraction of `rows` whose largest logit is their label. */
async function accuracy(params, rows) {
  const { X: x, y } = data(rows);
  const { value: logits } = await post('eval', { program: LOGITS, at: { X: x, ...params } });
  const predicted = logits.map((row) => row.indexOf(Math.max(...row)) + 1);
  return predicted.filter((p, i) => p === y[i]).length / y.length;
}

/** `steps` full-batch steps of `optimizer`; prints the loss history (ten entries) and both accuracies. */
async function run(optimizer, steps) {
  const result = await post('optimize', { program: LOSS, at: data(train), params: initial, optimizer, steps, every: steps / 10 });
  if (result.stopped) throw new Error(`the optimisation stopped: ${result.stopped.reason}`);
  console.log(`${optimizer.name} lr ${optimizer.lr}, ${steps} epochs:`);
  console.log(`  loss ${result.history.map((h) => fixed(h.loss, 4)).join(' ')} -> ${fixed(result.loss, 4)}`);
  const [tr, va] = [await accuracy(result.params, train), await accuracy(result.params, validation)];
  console.log(`  train accuracy ${fixed(tr, 3)} (${Math.round(tr * train.length)}/${train.length}), validation accuracy ${fixed(va, 3)} (${Math.round(va * validation.length)}/${validation.length})`);
}

console.log(`iris MLP 4-${HIDDEN}-3, ${train.length} training and ${validation.length} validation rows; W1, W2 from randn (seeds 3 and 4)`);
console.log(`initial: train accuracy ${fixed(await accuracy(initial, train), 3)}, validation accuracy ${fixed(await accuracy(initial, validation), 3)}`);
await run({ name: 'sgd', lr: 0.01 }, 100);
await run({ name: 'sgd', lr: 0.01 }, 1000);
await run({ name: 'adam', lr: 0.01 }, 100);
