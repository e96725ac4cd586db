// Typed usage of the second version of the behaviour: the count rule,
// halfOpenMaxWaitMs, jitter, adopt, restore's sameClock, transition causes
// and presets. Checked by `tsc --noEmit -p types` (never run).
import {
    CircuitBreaker,
    presets,
    type CircuitBreakerOptions,
    type FleetState,
    type PresetOptions,
    type RestoreOptions,
    type StateChange,
    type TransitionCause,
    type TripPolicy,
} from 'halfopen';

// A window policy with only the count rule, only the rate rule, or both.
const countOnly: TripPolicy = { timeWindow: { failures: 5, windowMs: 60_000, buckets: 12 } };
const countInLast: TripPolicy = { failureRate: { failures: 3, window: 10 } };
const rateOnly: TripPolicy = { failureRate: { percent: 50, window: 20 } };
const both: TripPolicy = { timeWindow: { percent: 50, failures: 20, windowMs: 60_000, buckets: 60, minimumCalls: 10 } };
// @ts-expect-error a window policy needs percent or failures
const noRule: TripPolicy = { timeWindow: { windowMs: 60_000, buckets: 12 } };
// @ts-expect-error failureRate still needs its window
const noWindow: TripPolicy = { failureRate: { failures: 3 } };

const options: CircuitBreakerOptions = {
    trip: countOnly,
    halfOpenMaxWaitMs: 10_000,
    jitter: { percent: 20, seed: 0xc0ffee },
};
new CircuitBreaker({ jitter: { percent: 10 } });
// @ts-expect-error jitter needs its percent
new CircuitBreaker({ jitter: { seed: 1 } });
// @ts-expect-error a number, not a string
new CircuitBreaker({ halfOpenMaxWaitMs: '10s' });
// @ts-expect-error sameClock is restore's option, not the constructor's
new CircuitBreaker({ sameClock: true });

// adopt
const breaker = new CircuitBreaker(options);
breaker.adopt({ state: 'open', remainingMs: 12_000, k: 1 });
breaker.adopt({ state: 'open', remainingMs: 12_000 });
breaker.adopt({ state: 'closed' });
breaker.adopt({ state: 'isolated' });
const fleet: FleetState = JSON.parse('{"state":"closed"}');
breaker.adopt(fleet);
// @ts-expect-error open needs its remaining time
breaker.adopt({ state: 'open' });
// @ts-expect-error remainingMs only goes with open
breaker.adopt({ state: 'closed', remainingMs: 5 });
// @ts-expect-error not a fleet state
breaker.adopt({ state: 'halfOpen' });

// transition causes
breaker.onStateChange((c: StateChange) => {
    const cause: TransitionCause = c.cause;
    if (cause === 'fleet' || cause === 'halfOpenMaxWait') console.log(c.from, c.to);
    // @ts-expect-error not a cause
    const notCause: TransitionCause = 'timeout';
    console.log(notCause);
});

// restore, on the same clock or not
const bytes = breaker.snapshot();
CircuitBreaker.restore(bytes, { ...options, sameClock: true });
const restoreOptions: RestoreOptions = { clock: () => performance.now(), sameClock: false };
CircuitBreaker.restore(bytes, restoreOptions);
// @ts-expect-error a boolean
CircuitBreaker.restore(bytes, { sameClock: 1 });

// presets
const db: PresetOptions = presets.database;
const withFallback = new CircuitBreaker({ ...presets.keyVault, fallback: () => 'cached' });
const r: Promise<number | string> = withFallback.execute(async () => 1);
const timeout: number | undefined = presets.cloudService.timeoutMs;
// @ts-expect-error presets are read-only
presets.httpApi = presets.database;
// @ts-expect-error no such preset
console.log(presets.redis);

export { both, countInLast, db, noRule, noWindow, r, rateOnly, timeout };
