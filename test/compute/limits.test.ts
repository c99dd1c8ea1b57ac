/**
 * withDefaults keeps the last limits object's resolution (compute/limits.ts): a request with
 * other limits, or none, must still get its own, whichever came before it.
 */
import t from 'tap';
import { DEFAULT_LIMITS, computeSync } from '../../src/index.js';
import { withDefaults } from '../../src/compute/limits.js';
import { Problem } from '../../src/compute/problem.js';

t.test('each limits object gets its own limits, in any order of requests', async (t) => {
  const tight = { maxOperations: 5 };
  const loose = { maxOperations: 1000 };
  const body = { program: 'sum(sin(x) .* cos(x) + exp(x) ./ (1 + x .^ 2))', at: { x: [0.1, 0.2, 0.3] } };
  const refused = (limits: typeof tight | undefined): boolean => {
    try {
      computeSync('grad', body, { limits });
      return false;
    } catch (e) {
      if (e instanceof Problem && e.code === 'LIMIT_EXCEEDED') return true;
      throw e;
    }
  };
  t.same([tight, loose, tight, undefined, tight, loose].map(refused), [true, false, true, false, true, false], 'refused under 5 operations only');
  t.equal(withDefaults(tight).maxOperations, 5, 'the tight limit');
  t.equal(withDefaults(tight).maxDepth, DEFAULT_LIMITS.maxDepth, 'over the defaults');
  t.equal(withDefaults(loose).maxOperations, 1000, 'the loose limit, asked for next');
  t.equal(withDefaults(undefined), DEFAULT_LIMITS, 'none: the defaults');
  t.ok(Object.isFrozen(withDefaults(loose)), 'kept frozen: nobody changes another request\'s limits');
});
