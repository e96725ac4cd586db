// Typed usage of the package as an ES module user writes it: checked by
// `tsc --noEmit -p types` (never run). Each @ts-expect-error must be an error.
import {
    CircuitBreaker,
    BrokenCircuitError,
    IsolatedCircuitError,
    CallTimeoutError,
    SnapshotError,
    type CircuitBreakerOptions,
    type Metrics,
    type OptionError,
    type Permit,
    type RejectReason,
    type State,
    type StateChange,
    type TripPolicy,
} from 'halfopen';

const options: CircuitBreakerOptions = {
    trip: { failureRate: { percent: 50, window: 20, minimumCalls: 10 } },
    openMs: 10_000,
    halfOpenMaxCalls: 2,
    successThreshold: 2,
    slowCallMs: 2_000,
    backoff: { factor: 2, maxOpenMs: 120_000 },
    clock: () => performance.now(),
    timeoutMs: 5_000,
    isFailure: (e) => !(e instanceof TypeError),
    isResultFailure: (r) => r instanceof Response && r.status >= 500,
};
const breaker = new CircuitBreaker(options);

// execute: the result type is the operation's, awaited.
const res: Response = await breaker.execute(({ signal }) => fetch('https://example.com', { signal }));
const n: number = await breaker.execute(() => 42);
// @ts-expect-error the result is a number, not a string
const s: string = await breaker.execute(async () => 1);
// @ts-expect-error the operation receives a context, not a string
await breaker.execute((url: string) => url);
await breaker.execute(async () => 1, { signal: AbortSignal.timeout(100) });

// fallback widens the result type.
const cached = new CircuitBreaker({ fallback: (e) => (e.reason === 'isolated' ? null : 'cached') });
const v: number | string | null = await cached.execute(async () => 1);
// @ts-expect-error the fallback may give a string
const w: number = await cached.execute(async () => 1);

// trip policies are exactly one of three shapes.
const policies: TripPolicy[] = [
    { consecutiveFailures: 5 },
    { timeWindow: { percent: 50, windowMs: 60_000, buckets: 60, minimumCalls: 20 } },
];
// @ts-expect-error failureRate needs window and minimumCalls
const partial: TripPolicy = { failureRate: { percent: 50 } };
// @ts-expect-error no such option
new CircuitBreaker({ openms: 100 });
// @ts-expect-error numbers, not strings
new CircuitBreaker({ openMs: '100' });

// permits
const permit: Permit | undefined = breaker.tryAcquire();
if (permit) {
    permit.success();
    permit.release();
}

// state, metrics, listeners, snapshots
const state: State = breaker.state;
// @ts-expect-error not a state
const bad: State = 'half-open';
// @ts-expect-error read-only
breaker.state = 'open';
const m: Metrics = breaker.metrics();
const retryAt: number | undefined = m.retryAt;
const rate = m.window ? m.window.failures / m.window.calls : 0;
const off: () => void = breaker.onStateChange((c: StateChange) => {
    const to: State = c.to;
    console.log(c.from, to, c.epoch);
});
off();
breaker.isolate();
breaker.reset();
const bytes: Uint8Array = breaker.snapshot();
const restored: CircuitBreaker = CircuitBreaker.restore(bytes, options);
CircuitBreaker.restore(null, options);
CircuitBreaker.restore(bytes.buffer, options);

// errors
try {
    await breaker.execute(async () => 1);
} catch (e) {
    if (e instanceof BrokenCircuitError) {
        const reason: 'open' | 'halfOpenFull' | 'clockOutOfRange' = e.reason;
        // Every rejection reason, isolation included, is a RejectReason.
        const any: RejectReason = e.reason;
        // @ts-expect-error a BrokenCircuitError is never `isolated`
        const isolated: 'isolated' = e.reason;
        console.log(any, isolated);
        const after: number | undefined = e.retryAfterMs;
        console.log(reason, after, e.message);
    } else if (e instanceof IsolatedCircuitError) {
        const reason: 'isolated' = e.reason;
        console.log(reason);
    } else if (e instanceof CallTimeoutError) {
        console.log(e.timeoutMs);
    } else if (e instanceof SnapshotError) {
        const r: 'length' | 'magic' | 'version' | 'checksum' | 'foreignConfig' | 'invalid' | 'inUse' = e.reason;
        // @ts-expect-error `inUse` is one of the reasons too
        const narrow: 'length' | 'magic' | 'version' | 'checksum' | 'foreignConfig' | 'invalid' = e.reason;
        console.log(r, narrow);
    } else if (e instanceof RangeError || e instanceof TypeError) {
        console.log((e as OptionError).key);
    }
}

// RejectReason names every reason the core rejects for.
const reasons: RejectReason[] = ['open', 'halfOpenFull', 'isolated', 'clockOutOfRange'];
// @ts-expect-error not a reason
const notReason: RejectReason = 'closed';

export { res, n, s, v, w, policies, partial, state, bad, retryAt, rate, restored, reasons, notReason };
