/**
 * The inputs of `grad`, `eval`, `jacobian`, `jvp` and `hessian` requests are decoded into one
 * ReusableStorage (engine/storage.ts), handed out again at the next request (compute.ts).
 * Oracle: each request's closed form (the gradient of sum(x .* y) is y, bit for bit), whatever
 * requests came before it, in a batch or not, with requests decoding elsewhere between them.
 */
import t from 'tap';
import { computeSync } from '../../src/index.js';
import { ReusableStorage } from '../../src/engine/index.js';
import { MAX_CACHED_PLAN_ELEMENTS } from '../../src/compute/cache.js';

function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

t.test('a reusable storage hands out views that do not overlap within a request, grows keeping them, and hands the memory out again after a reset', async (t) => {
  const storage = new ReusableStorage();
  const a = storage.allocate(100, false);
  const b = storage.allocate(3000, false);
  a.fill(1);
  b.fill(2);
  // Past the first buffer (4096 elements): a new one, the views before it untouched.
  const c = storage.allocate(5000, false);
  c.fill(3);
  t.ok(a.every((v) => v === 1) && b.every((v) => v === 2) && c.every((v) => v === 3), 'each view keeps its own numbers, across a growth');
  t.equal(a.buffer, b.buffer, 'views of one buffer while it has room');
  t.not(c.buffer, a.buffer, 'a new buffer when it has not');
  storage.reset();
  const d = storage.allocate(5000, false);
  d.fill(4);
  t.equal(d.buffer, c.buffer, 'after a reset, the memory is handed out again');
  t.ok(c.every((v) => v === 4), 'so the views of the request before see the next one\'s numbers: nothing may read them after it');
  t.equal(storage.allocate(5, false).buffer.byteLength, 40, 'an array of 8 elements or fewer is its own, on the heap');
  storage.allocate(1 << 20, false);
  t.ok(storage.capacity > MAX_CACHED_PLAN_ELEMENTS, 'a storage grown past 2 MB says so: computeSync then replaces it, not keeps it');
});

/** What a request to `sum(x .* y)`, `x`, `sum(x .* x)` or `x .* y` (a Jacobian) answers, by its closed form: the oracle. */
function expected(program: string, x: number[], y: number[]): { value: unknown; grad?: number[]; jacobian?: number[][] } {
  let dot = 0;
  for (let i = 0; i < x.length; i++) dot += x[i] * (program === 'sum(x .* x)' ? x[i] : y[i]);
  if (program === 'x') return { value: x };
  if (program === 'x .* y') return { value: x.map((v, i) => v * y[i]), jacobian: y.map((v, i) => y.map((_, j) => (i === j ? v : 0))) };
  return { value: dot, grad: program === 'sum(x .* x)' ? x.map((v) => 2 * v) : y };
}

t.test('grad, eval and jacobian answers agree with their closed forms whatever came before, batches and other endpoints between them', async (t) => {
  const random = generator(5);
  const vector = (n: number): number[] => Array.from({ length: n }, () => random() * 4 - 2);
  const programs = ['sum(x .* y)', 'x', 'sum(x .* x)', 'x .* y'];
  const endpoints: Record<string, string> = { x: 'eval', 'x .* y': 'jacobian' };
  const requests = Array.from({ length: 60 }, (_, k) => {
    const program = programs[k % programs.length];
    const n = program === 'x .* y' ? [9, 20, 40][k % 3] : [3, 20, 200, 1000, 9][k % 5];
    return { endpoint: endpoints[program] ?? 'grad', program, x: vector(n), y: vector(n) };
  });
  let wrong = 0;
  const check = (r: (typeof requests)[number], answer: unknown, how: string): void => {
    const want = expected(r.program, r.x, r.y);
    const got = answer as { value: number | number[]; grad?: { x: number[] }; jacobian?: { x: number[][] } };
    const valueOk = Array.isArray(want.value) ? JSON.stringify(got.value) === JSON.stringify(want.value) : Math.abs((got.value as number) - (want.value as number)) <= 1e-12 * Math.max(1, Math.abs(want.value as number));
    const gradOk = want.grad === undefined || JSON.stringify(got.grad?.x) === JSON.stringify(want.grad);
    const jacobianOk = want.jacobian === undefined || JSON.stringify(got.jacobian?.x) === JSON.stringify(want.jacobian);
    if ((!valueOk || !gradOk || !jacobianOk) && wrong++ < 3) t.fail(`${r.program} of ${r.x.length} elements, ${how}: ${JSON.stringify(got).slice(0, 120)}`);
  };
  const body = (r: (typeof requests)[number]) => ({ program: r.program, at: { x: r.x, y: r.y }, ...(r.endpoint === 'eval' ? {} : { wrt: ['x'] }) });
  for (const [k, r] of requests.entries()) {
    check(r, computeSync(r.endpoint, body(r)), 'in turn');
    // Between them, a request whose inputs are decoded elsewhere.
    if (k % 7 === 0) computeSync('optimize', { program: 'sum((x - y) .^ 2)', at: { y: vector(50) }, params: { x: vector(50) }, optimizer: { name: 'sgd', lr: 0.1 }, steps: 3 });
  }
  const batch = computeSync('batch', { requests: requests.slice(0, 15).map((r) => ({ endpoint: r.endpoint, ...body(r) })) }) as { results: { result?: unknown }[] };
  batch.results.forEach((item, k) => check(requests[k], item.result ?? item, 'in a batch'));
  t.equal(wrong, 0, `${requests.length} requests in turn and ${batch.results.length} in a batch, each its own closed form`);
});
