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
import {
    FleetBreaker,
    RedisFleetStore,
    durableObjectFleet,
    type DurableObjectNamespaceLike,
    type FleetStore,
    type RedisClientLike,
    type RedisClusterLike,
    type RedisSubscriberLike,
} from 'halfopen/fleet';

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

// Registry: a breaker of `get` resolves to the operation's result (not
// `unknown`), or to what a fallback gives: the defaults' or `get`'s own.
{
    const registry = new Registry({ defaults: 'httpApi' });
    const res = await registry.get('search').execute(() => fetch(url));
    const status: number = res.status;
    const typed: Response = await registry.get<Response>('api', { isResultFailure: (r) => r.status >= 500 }).execute(() => fetch(url));
    const inferred: Response = await registry.get('api2', { isResultFailure: (r: Response) => r.status >= 500 }).execute(() => fetch(url));
    // @ts-expect-error R given: the operations resolve to a Response
    await registry.get<Response>('api').execute(async () => 1);
    const own: number | 'cached' = await registry.get('own', { fallback: () => 'cached' as const }).execute(async () => 1);
    // @ts-expect-error get's own fallback may give 'cached'
    const ownStrict: number = await registry.get('own', { fallback: () => 'cached' as const }).execute(async () => 1);

    const withDefaults = new Registry({ defaults: { openMs: 1_000, fallback: () => null } });
    const maybe: Response | null = await withDefaults.get('x').execute(() => fetch(url));
    // @ts-expect-error the defaults' fallback may give null
    const notNull: Response = await withDefaults.get('x').execute(() => fetch(url));
    const explicit: Registry<null> = withDefaults;
    // A preset as get's options: no fallback of its own.
    const viaPreset: Response | null = await withDefaults.get('db', 'database').execute(() => fetch(url));
    // Iteration cannot know each breaker's fallback.
    for (const [, breaker] of withDefaults) {
        const any: unknown = await breaker.execute(async () => 1);
        console.log(any);
    }
    console.log(status, typed, inferred, own, ownStrict, maybe, notNull, explicit, viaPreset);
}

// exactOptionalPropertyTypes (enabled in this project): an option given as
// `undefined` is the same as one left out, at run time and in the types.
{
    const config: { openMs?: number; name?: string; timeoutMs?: number } = {};
    const maybeNumber: number | undefined = config.openMs;
    const maybeFallback: (() => string) | undefined = undefined;
    new CircuitBreaker({ openMs: maybeNumber, name: undefined });
    new CircuitBreaker({ openMs: config.openMs, name: config.name, timeoutMs: config.timeoutMs });
    const b = new CircuitBreaker({
        trip: { consecutiveFailures: 5, failureRate: undefined, timeWindow: undefined },
        halfOpenMaxCalls: undefined,
        successThreshold: undefined,
        slowCallMs: undefined,
        backoff: undefined,
        halfOpenMaxWaitMs: undefined,
        jitter: { percent: 10, seed: undefined },
        clock: undefined,
        isFailure: undefined,
        isResultFailure: undefined,
        fallback: maybeFallback,
    });
    const withFallback: number | string = await b.execute(async () => 1, { signal: undefined });
    new CircuitBreaker({ trip: { failureRate: { percent: 50, failures: undefined, window: 20, minimumCalls: undefined } } });
    new CircuitBreaker({ trip: { timeWindow: { percent: undefined, failures: 5, windowMs: 60_000, buckets: 12, minimumCalls: undefined } } });
    CircuitBreaker.restore(null, { sameClock: undefined, openMs: maybeNumber });
    const options: CircuitBreakerOptions = { openMs: maybeNumber };
    new Registry({ defaults: undefined });
    new Registry({ defaults: { openMs: maybeNumber, name: undefined } });
    new Registry().get('x', undefined);
    b.adopt({ state: 'open', remainingMs: 1_000, k: undefined });
    b.adopt({ state: 'closed', remainingMs: undefined, k: undefined });
    new FleetBreaker({ name: 'api', store, syncMs: maybeNumber, deadlineMs: undefined, fleet: undefined, openMs: maybeNumber });
    new FleetBreaker({ name: 'api', store, fleet: { leaseMs: maybeNumber, count: undefined, windowMs: undefined, buckets: undefined } });
    durableObjectFleet(ns, { name: 'api', syncMs: undefined, timeoutMs: maybeNumber });

    // What is required stays required: `undefined` is not a value for it.
    // @ts-expect-error backoff needs maxOpenMs
    new CircuitBreaker({ backoff: { factor: 2, maxOpenMs: undefined } });
    // @ts-expect-error a policy given as undefined is no policy
    new CircuitBreaker({ trip: { consecutiveFailures: undefined } });
    // @ts-expect-error a window policy needs its window
    new CircuitBreaker({ trip: { failureRate: { percent: 50, window: undefined } } });
    // @ts-expect-error a fleet breaker needs a name
    new FleetBreaker({ name: undefined, store });
    // @ts-expect-error 'open' needs remainingMs
    b.adopt({ state: 'open', remainingMs: undefined });
    // @ts-expect-error still a number where one is given
    new CircuitBreaker({ openMs: '5' as string | undefined });
    console.log(withFallback, options);
}

// RedisFleetStore's options: known keys, a subscriber that is a client,
// `cluster: true` only with a cluster client.
{
    const client = {} as RedisClientLike;
    const cluster = {} as RedisClusterLike;
    const subscriber = {} as RedisSubscriberLike;
    new RedisFleetStore(client);
    new RedisFleetStore(client, { subscriber });
    new RedisFleetStore(client, { subscriber: undefined, cluster: undefined });
    new RedisFleetStore(cluster, { cluster: true, subscriber });
    // @ts-expect-error an unknown option (cluster is meant)
    new RedisFleetStore(client, { clustr: true });
    // @ts-expect-error an unknown option (subscriber is meant)
    new RedisFleetStore(client, { subscribr: subscriber });
    // @ts-expect-error a subscriber is a client
    new RedisFleetStore(client, { subscriber: 5 });
    // @ts-expect-error cluster is a boolean
    new RedisFleetStore(client, { cluster: 'yes' });
    // @ts-expect-error a cluster client needs cluster: true
    new RedisFleetStore(cluster);
}
