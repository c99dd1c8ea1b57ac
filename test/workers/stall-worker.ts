/**
 * The pool's worker with one addition, for tests of the hard deadline: a program whose first
 * line is `# stall <ms>` holds its worker that long without reading the clock, as a computation
 * that no deadline check reaches would (every kernel reads it now), then runs as usual.
 */
import { compute } from '../../src/index.js';
import { runWith } from '../../src/workers/compute-worker.js';

const STALL = /^# stall (\d+)\n/;

export default runWith(async (endpoint, body, options) => {
  const program = body !== null && typeof body === 'object' ? (body as { program?: unknown }).program : undefined;
  const stall = typeof program === 'string' ? STALL.exec(program) : null;
  if (stall !== null) {
    const end = performance.now() + Number(stall[1]);
    while (performance.now() < end);
  }
  return compute(endpoint, body, options);
});
