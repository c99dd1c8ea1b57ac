/**
 * Programs whose one operation makes a tensor the size of a product or a square of its inputs'
 * (diag, identity, outer products, kron, broadcast batches, ranges with tiny steps, growing
 * assignments) are refused with 422 LIMIT_EXCEEDED (memory) before anything is allocated, never
 * a 500; and programs whose one kernel would run for seconds (a product, an inverse, a matrix
 * power, a spectral norm) stop at their time limit with 422 LIMIT_EXCEEDED (time), in process,
 * where no worker could be killed to save them.
 */
import t from 'tap';
import { computeSync } from '../../src/index.js';
import { assertProblem, outcomeOf } from '../helpers.js';

interface LimitCase {
  name: string;
  program: string;
  endpoint?: string;
  at?: Record<string, unknown>;
}

const memoryCases: LimitCase[] = [
  // The two: a RangeError ("Invalid typed array length") and a failed allocation, each a 500.
  { name: 'diag of 10^5 elements', program: 'diag(1:1e5)' },
  { name: 'diag of 65536 elements', program: 'diag(1:65536)' },
  { name: 'diag of 8000 elements (64·10^6, over the budget)', program: 'diag(1:8000)' },
  { name: 'identity(10^5)', program: 'identity(1e5)' },
  { name: 'identity(10^5, 10^5)', program: 'identity(1e5, 1e5)' },
  { name: 'ones(10^5, 10^5)', program: 'ones(1e5, 1e5)' },
  { name: 'zeros(65536, 65536)', program: 'zeros(65536, 65536)' },
  { name: 'rand(10^5, 10^5)', program: 'rand(1e5, 1e5)' },
  { name: 'an outer product by matmul', program: "v = reshape(1:1e5, [1e5, 1])\nv * v'" },
  { name: 'an outer product by broadcasting', program: "v = reshape(1:1e5, [1e5, 1])\nv .* v'" },
  { name: 'a sum broadcast from a column and a row', program: 'ones(1e4, 1) + ones(1, 1e4)' },
  { name: 'kron of a row and a column', program: 'kron(ones(1, 1e4), ones(1e4, 1))' },
  { name: 'matmul with broadcast batches', program: 'matmul(ones(1e4, 1, 2, 2), ones(1, 1e4, 2, 2))' },
  { name: 'a range with a tiny step', program: '0:1e-9:1' },
  { name: 'range() with a tiny step', program: 'range(0, 1, 1e-9)' },
  { name: 'concatenating a large matrix four times', program: 'A = ones(4000, 4000)\nconcat(A, A, A, A)' },
  { name: 'an assignment that grows a matrix to 10^5 × 10^5', program: 'A = zeros(1, 1)\nA[1e5, 1e5] = 2\nA' },
  { name: 'diag of a 10^5-vector under grad', endpoint: 'grad', program: 'sum(sum(diag(x * (1:1e5))))', at: { x: 0.5 } },
  { name: 'identity(10^5) under hessian', endpoint: 'hessian', program: 'x * sum(sum(identity(1e5)))', at: { x: 0.5 } },
];

t.test('an operation whose output is a product or square of its inputs is refused before it allocates', async (t) => {
  for (const c of memoryCases) {
    const outcome = outcomeOf(() => computeSync(c.endpoint ?? 'eval', { program: c.program, at: c.at ?? {} }));
    assertProblem(t, c.name, outcome, { status: 422, code: 'LIMIT_EXCEEDED', limit: 'memory', line: 'any', column: 'any', detail: [/memory limit exceeded/] });
  }
});

const TIMEOUT_MS = 500;
/** Generous: each would run for seconds; stopping at all is the point. */
const ANSWERED_WITHIN_MS = 3 * TIMEOUT_MS + 1000;

// Sizes chosen so that the kernel takes seconds on any machine, its inputs a few tens of milliseconds.
const timeCases: LimitCase[] = [
  { name: 'a product of two 1500×1500 matrices', program: 'A = ones(1500, 1500)\nsum(sum(A * A))' },
  { name: 'the product under grad', endpoint: 'grad', program: 'A = ones(1500, 1500) * x\nsum(sum(A * A))', at: { x: 0.5 } },
  { name: 'inv of a 1500×1500 matrix', program: 'sum(sum(inv(ones(1500, 1500) + 1500 * identity(1500))))' },
  { name: 'det of a 2000×2000 matrix', program: 'det(ones(2000, 2000) + 2000 * identity(2000))' },
  { name: 'solve with 1500 right-hand sides', program: 'A = ones(1500, 1500) + 1500 * identity(1500)\nsum(sum(solve(A, ones(1500, 1500))))' },
  { name: 'a 1000×1000 matrix to the power 1e9', program: 'A = ones(1000, 1000) / 1000\nB = A^1e9\nB[1, 1]' },
  { name: 'the spectral norm of a 1500×1500 matrix', program: 'norm(rand(1500, 1500), 2)' },
  { name: 'the spectral norm of a 600×600 matrix (Jacobi sweeps)', program: 'norm(rand(600, 600), 2)' },
];

t.test('a single long kernel answers 422 at the time limit, in process', async (t) => {
  for (const c of timeCases) {
    const start = performance.now();
    const outcome = outcomeOf(() => computeSync(c.endpoint ?? 'eval', { program: c.program, at: c.at ?? {}, options: { timeoutMs: TIMEOUT_MS } }));
    const elapsed = performance.now() - start;
    assertProblem(t, c.name, outcome, { status: 422, code: 'LIMIT_EXCEEDED', limit: 'time', line: 'any', column: 'any', detail: [/time limit exceeded/] });
    t.ok(elapsed < ANSWERED_WITHIN_MS, `${c.name}: answered in ${Math.round(elapsed)} ms (time limit ${TIMEOUT_MS} ms)`);
  }
});
