// What must compile under `strict` and what must not: checked by
// `tsc -p types` (never run). Each @ts-expect-error line must be an error.
// The README's code blocks themselves are compiled as they are by
// node/readme-types.test.mjs.
import {
    CircuitBreaker,
    BrokenCircuitError,
    PermitError,
    Registry,
    presets,
    type CircuitBreakerOptions,
    type OptionError,
    type TripPolicy,
} from 'halfopen';
import { FleetBreaker, durableObjectFleet, type DurableObjectNamespaceLike, type FleetStore } from 'halfopen/fleet';

declare const url: string;
declare const store: FleetStore;
declare const ns: DurableObjectNamespaceLike;

// The README's first example, as it is: `res` is inferred (`any`: nothing
// says what the operations resolve to).
{
    const breaker = new CircuitBreaker({
        trip: { consecutiveFailures: 5 }, // or failureRate / timeWindow
        openMs: 30_000,
        timeoutMs: 2_000,
        isResultFailure: (res) => res.status >= 500,
    });

    try {
        const res = await breaker.execute(({ signal }) => fetch(url, { signal }));
        const ok: boolean = res.ok;
    } catch (e) {
        if (e instanceof BrokenCircuitError) {
            const after: number | undefined = e.retryAfterMs;
        }
    }
}

// The result type given: `res` is a Response, and `execute` takes only
// operations that resolve to one.
{
    const breaker = new CircuitBreaker<Response>({
        trip: { consecutiveFailures: 5 },
        isResultFailure: (res) => res.status >= 500,
    });
    const res: Response = await breaker.execute(({ signal }) => fetch(url, { signal }));
    // @ts-expect-error a number is not a Response
    await breaker.execute(async () => 42);
    // @ts-expect-error `res` is a Response: it has no `code`
    new CircuitBreaker<Response>({ isResultFailure: (res) => res.code === 5 });
}

// Annotated callbacks: the result type is inferred from the annotation, and
// a narrower error type is accepted (the callbacks are methods).
{
    const breaker = new CircuitBreaker({
        trip: { consecutiveFailures: 5 },
        isResultFailure: (res: Response): boolean => res.status >= 500,
        isFailure: (e: Error) => !(e instanceof TypeError),
    });
    const res: Response = await breaker.execute(() => fetch(url));
    // @ts-expect-error the result is inferred to be a Response
    await breaker.execute(() => 'text');
    const typed: CircuitBreaker<Response> = breaker;

    // Unannotated isFailure: the error is `unknown`, as in a catch clause.
    new CircuitBreaker({ isFailure: (e) => !(e instanceof TypeError) });
    // @ts-expect-error an unknown error has no `code` until it is narrowed
    new CircuitBreaker({ isFailure: (e) => e.code === 'ECONNRESET' });
    // Annotated options objects, declared before the breaker.
    const options: CircuitBreakerOptions<Response> = { isResultFailure: (r) => r.status === 503, isFailure: (e: Error) => e.name !== 'AbortError' };
    const fromOptions: CircuitBreaker<Response> = new CircuitBreaker(options);
    console.log(res, typed, fromOptions);
}

// Each trip policy, and the rules of the window policies.
{
    const policies: TripPolicy[] = [
        { consecutiveFailures: 5 },
        { failureRate: { percent: 50, window: 20 } },
        { failureRate: { failures: 5, window: 20 } },
        { failureRate: { percent: 50, failures: 5, window: 20, minimumCalls: 10 } },
        { timeWindow: { failures: 5, windowMs: 60_000, buckets: 12 } },
        { timeWindow: { percent: 50, windowMs: 60_000, buckets: 12, minimumCalls: 20 } },
    ];
    for (const trip of policies) new CircuitBreaker({ trip });
    new CircuitBreaker({ trip: { failureRate: { percent: 50, window: 20 } } });
    new CircuitBreaker({ trip: { timeWindow: { failures: 5, windowMs: 60_000, buckets: 12 } } });

    // @ts-expect-error two policies in one trip object
    new CircuitBreaker({ trip: { consecutiveFailures: 5, failureRate: { percent: 50, window: 20 } } });
    // @ts-expect-error two policies in one trip object
    new CircuitBreaker({ trip: { timeWindow: { failures: 5, windowMs: 60_000, buckets: 12 }, consecutiveFailures: 3 } });
    // @ts-expect-error two policies, declared apart
    const two: TripPolicy = { failureRate: { percent: 50, window: 20 }, timeWindow: { failures: 5, windowMs: 60_000, buckets: 12 } };
    // @ts-expect-error no policy at all
    new CircuitBreaker({ trip: {} });
    // @ts-expect-error a window policy needs a rule: percent or failures
    new CircuitBreaker({ trip: { failureRate: { window: 20 } } });
    // @ts-expect-error timeWindow needs buckets
    new CircuitBreaker({ trip: { timeWindow: { failures: 5, windowMs: 60_000 } } });
    // @ts-expect-error an unknown policy
    new CircuitBreaker({ trip: { consecutive: 5 } });
    console.log(two);
}

// Wrong option types and unknown keys.
{
    // @ts-expect-error numbers, not strings
    new CircuitBreaker({ openMs: '30000' });
    // @ts-expect-error unknown option (timeoutMs is meant)
    new CircuitBreaker({ timeout: 2_000 });
    // @ts-expect-error unknown option in a nested object
    new CircuitBreaker({ backoff: { factor: 2, maxOpenMs: 60_000, max: 1 } });
    // @ts-expect-error backoff needs maxOpenMs
    new CircuitBreaker({ backoff: { factor: 2 } });
    // @ts-expect-error jitter needs percent
    new CircuitBreaker({ jitter: { seed: 1 } });
    // @ts-expect-error a classifier returns a boolean
    new CircuitBreaker({ isFailure: (e: unknown) => 'yes' });
    // @ts-expect-error the clock returns milliseconds
    new CircuitBreaker({ clock: () => new Date() });
    // @ts-expect-error fallback receives the rejection, not a string
    new CircuitBreaker({ fallback: (e: string) => e });
    // @ts-expect-error a name is a string
    new CircuitBreaker({ name: 5 });
}

// execute: its options, and the result type.
{
    const breaker = new CircuitBreaker();
    const n: number = await breaker.execute(() => 1);
    const s: string = await breaker.execute(async () => 'a');
    await breaker.execute(() => 1, { signal: AbortSignal.timeout(100) });
    // @ts-expect-error timeoutMs is the breaker's option, not execute's
    await breaker.execute(() => 1, { timeoutMs: 5 });
    // @ts-expect-error the signal goes in an object
    await breaker.execute(() => 1, AbortSignal.timeout(100));
    // @ts-expect-error the operation receives a context, not a URL
    await breaker.execute((u: string) => fetch(u));
    // fallback: its value widens the result.
    const cached = new CircuitBreaker({ fallback: () => 'cached' as const });
    const v: number | 'cached' = await cached.execute(async () => 1);
    // @ts-expect-error the fallback may give 'cached'
    const w: number = await cached.execute(async () => 1);
    // both: the result type and the fallback's
    const both = new CircuitBreaker<Response, null>({ isResultFailure: (r) => !r.ok, fallback: () => null });
    const r: Response | null = await both.execute(() => fetch(url));
    console.log(n, s, v, w, r);
}

// Permits.
{
    const breaker = new CircuitBreaker();
    // @ts-expect-error tryAcquire may give no permit
    breaker.tryAcquire().success();
    const permit = breaker.tryAcquire();
    if (permit !== undefined) {
        // @ts-expect-error an outcome takes no value
        permit.success(200);
        permit.failure();
        // @ts-expect-error no such outcome
        permit.timeout();
    }
    try {
        permit?.success();
    } catch (e) {
        if (e instanceof PermitError) {
            const code: 'alreadyRecorded' | 'alreadyReleased' = e.code;
            // @ts-expect-error not a code
            const bad: 'twice' = e.code;
            console.log(code, bad);
        }
    }
}

// Per-call events: each event's error typed by its type.
{
    const breaker = new CircuitBreaker({ name: 'payments' });
    breaker.addEventListener('reject', (e) => console.log(e.name, e.error.reason, e.type));
    breaker.addEventListener('fallback', (e) => console.log(e.error.message));
    breaker.addEventListener('timeout', (e) => console.log(e.error.timeoutMs));
    breaker.addEventListener('failure', (e) => console.log(`${e.error}`));
    // @ts-expect-error a failure's error is unknown: narrow it first
    breaker.addEventListener('failure', (e) => console.log(e.error.message));
    // @ts-expect-error a success has no error
    breaker.addEventListener('success', (e) => console.log(e.error.message));
}

// Option errors are TypeError or RangeError with a key.
try {
    new CircuitBreaker({ openMs: 0 });
} catch (e) {
    if (e instanceof RangeError || e instanceof TypeError) {
        const key: string = (e as OptionError).key;
        console.log(key);
    }
}

// Presets spread into options, and the registry.
{
    const db = new CircuitBreaker({ ...presets.database, isResultFailure: (rows: unknown[]) => rows.length === 0 });
    const rows: unknown[] = await db.execute(async () => [1, 2]);
    const registry = new Registry({ defaults: 'httpApi' });
    const search = registry.get<Response>('search', { isResultFailure: (res) => res.status >= 500 });
    const found = await search.execute(() => fetch(url));
    // @ts-expect-error unknown Registry option
    new Registry({ default: 'httpApi' });
    // @ts-expect-error not a preset
    registry.get('x', 'mysql');
    // @ts-expect-error the defaults cannot hold a name: each breaker has its own
    new Registry({ defaults: { name: 'all', openMs: 1_000 } });
    // adopt: remainingMs and k only with 'open'.
    search.adopt({ state: 'open', remainingMs: 1_000, k: 1 });
    search.adopt({ state: 'closed' });
    // @ts-expect-error remainingMs only goes with 'open'
    search.adopt({ state: 'closed', remainingMs: 1_000 });
    // @ts-expect-error 'open' needs remainingMs
    search.adopt({ state: 'open' });
    console.log(rows, found);
}

// halfopen/fleet: the same generic options.
{
    const fleet = new FleetBreaker({ name: 'api', store, isResultFailure: (res: Response) => res.status >= 500, isFailure: (e: Error) => e.name !== 'AbortError' });
    const res: Response = await fleet.execute(() => fetch(url));
    const unannotated = durableObjectFleet(ns, { name: 'api', trip: { consecutiveFailures: 5 }, isResultFailure: (r) => r.status >= 500 });
    await unannotated.execute(() => fetch(url));
    const typed = durableObjectFleet<Response>(ns, { name: 'api', isResultFailure: (r) => r.status >= 500, isFailure: (e: Error) => e.name !== 'AbortError' });
    // @ts-expect-error a number is not a Response
    await typed.execute(async () => 1);
    // @ts-expect-error two trip policies
    new FleetBreaker({ name: 'api', store, trip: { consecutiveFailures: 5, failureRate: { percent: 50, window: 20 } } });
    // @ts-expect-error unknown option (syncMs is meant)
    new FleetBreaker({ name: 'api', store, sync: 1_000 });
    new FleetBreaker({ name: 'api', store, trip: { failureRate: { percent: 50, window: 20 } }, fleet: { windowMs: 10_000, buckets: 10 } });
    // @ts-expect-error windowMs and buckets go together
    new FleetBreaker({ name: 'api', store, trip: { failureRate: { percent: 50, window: 20 } }, fleet: { windowMs: 10_000 } });
    console.log(res);
}
