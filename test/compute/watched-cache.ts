/** A program cache for tests that counts the requests answered from a plan (test/compute/plan*.test.ts). */
import { ProgramCache } from '../../src/index.js';
import type { CacheKey } from '../../src/compute/cache.js';
import type { GradientPlan } from '../../src/engine/index.js';

export class WatchedCache extends ProgramCache {
  planned = 0;

  override plan(key: CacheKey, make: () => GradientPlan | null): GradientPlan | null {
    const plan = super.plan(key, make);
    if (plan !== null) this.planned++;
    return plan;
  }
}
