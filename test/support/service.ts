/** A RateLimitService with the sidecar's default options, for tests that drive it without a sidecar. */
import type { ConfigSnapshot } from '../../src/config/index.js';
import type { DecisionObserver } from '../../src/service/decision-observer.js';
import { RateLimitService } from '../../src/service/rate-limit-service.js';
import type { BucketStore } from '../../src/stores/store.js';

export function testService(store: BucketStore, config: ConfigSnapshot, observer?: DecisionObserver): RateLimitService {
  return new RateLimitService({
    store,
    config: () => config,
    keyPrefix: 'rg:',
    shadowMode: false,
    chargeMode: 'all_or_nothing',
    responseHeaders: 'off',
    requestLimits: { maxDescriptors: 64, maxEntries: 16, maxKeyLength: 256, maxValueLength: 1024, maxHitsAddend: 4_294_967_295 },
    ...(observer === undefined ? {} : { observer }),
  });
}
