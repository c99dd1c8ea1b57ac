/**
 * Local mode's speed (issue 18): two requests timed through `computeSync`, by the same function
 * in Node.js and in Chromium. bench/widget.ts bundles this module with compute() for the page,
 * as the widget's build bundles local mode's worker (esbuild, minified, es2022), and runs it
 * there; the bench's own process runs it on the built library. Isomorphic: no Node.js API.
 *
 * The requests are what a course page sends: the lab's loop differentiated at a new point each
 * call, and one step of the iris-size MLP with the data and labels fixed and the weights
 * differentiated, new weights each call. Each is timed in batches of at least 20 ms (Chromium
 * rounds `performance.now()` to 100 µs without cross-origin isolation), after a warm-up.
 */
export type ComputeSync = (endpoint: string, body: unknown) => unknown;

export const LOCAL_REQUESTS = {
  loop: "the lab's loop (100 iterations): compute('grad', body)",
  mlp: "the iris-size MLP step (100x4 data and labels fixed, 4x12 and 12x3 weights differentiated): compute('grad', body)",
} as const;
export type LocalRequest = keyof typeof LOCAL_REQUESTS;

/** Numbers in [-0.5, 0.5) from a linear congruential generator: the same in Node and in the browser. */
function numbers(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

const rows = (values: number[], columns: number): number[][] => Array.from({ length: values.length / columns }, (_, i) => values.slice(i * columns, (i + 1) * columns));

/** Sixteen bodies of a request, each with new values. */
export function localBodies(request: LocalRequest): unknown[] {
  if (request === 'loop') {
    const program = 'z = 1\nfor i = 0:99\n  z = (z + i) * x * x\nend\nz';
    return Array.from({ length: 16 }, (_, k) => ({ program, at: { x: 0.5 + k / 64 } }));
  }
  const X = rows(numbers(400, 3), 4);
  const y = Array.from({ length: 100 }, (_, i) => (i % 3) + 1);
  const program = 'H = relu(X * W1 + b1)\ncross_entropy(H * W2 + b2, y)';
  return Array.from({ length: 16 }, (_, k) => ({
    program,
    at: { X, y, W1: rows(numbers(48, 10 + k), 12), b1: numbers(12, 30 + k), W2: rows(numbers(36, 50 + k), 3), b2: numbers(3, 70 + k) },
    wrt: ['W1', 'b1', 'W2', 'b2'],
  }));
}

/** The median seconds of one call over `batches` batches of at least 20 ms each, after a warm-up of as long. */
export function timeLocal(computeSync: ComputeSync, request: LocalRequest, batches = 15): number {
  const bodies = localBodies(request);
  let k = 0;
  const batch = (): number => {
    const start = performance.now();
    let calls = 0;
    let elapsed = 0;
    while (elapsed < 20) {
      computeSync('grad', bodies[k++ % bodies.length]);
      calls++;
      elapsed = performance.now() - start;
    }
    return elapsed / 1000 / calls;
  };
  for (let i = 0; i < batches; i++) batch();
  const times = Array.from({ length: batches }, batch).sort((a, b) => a - b);
  return times[Math.floor(batches / 2)];
}
