/**
 * halfopen: a lock-free circuit breaker, written once in Rust and compiled to
 * WebAssembly, for Node.js (ES modules and CommonJS), browsers and Cloudflare
 * Workers.
 *
 * ```ts
 * import { CircuitBreaker, BrokenCircuitError } from 'halfopen';
 *
 * const breaker = new CircuitBreaker<Response>({
 *   trip: { consecutiveFailures: 5 },
 *   openMs: 30_000,
 *   timeoutMs: 2_000,
 *   isResultFailure: (res) => res.status >= 500,
 * });
 *
 * try {
 *   const res = await breaker.execute(({ signal }) => fetch(url, { signal }));
 * } catch (e) {
 *   if (e instanceof BrokenCircuitError) console.log(`retry in ${e.retryAfterMs} ms`);
 * }
 * ```
 *
 * The behaviour (states, trip policies, backoff, half-open trials, option
 * ranges) is the same on every target of halfopen, and specified in the
 * project's BEHAVIOR.md.
 *
 * The package has named exports only (no default export): `import {
 * CircuitBreaker } from 'halfopen'`, `const { CircuitBreaker } =
 * require('halfopen')`.
 *
 * Errors follow one rule. An option of the wrong type (a string for a
 * number, an object for a function, an unknown or missing key) throws a
 * `TypeError`; an option of the right type with a value that is not valid
 * (a number out of range or not an integer, such as `openMs: 0` or
 * `openMs: 1.5`; a string that is not a valid name, preset or fleet state)
 * a `RangeError`. Both name the option by its path in the
 * message and in `key` ({@link OptionError}); a number's range error reads
 * `openMs = 0 is out of range 1..=2147483647` (the Rust crate's words), with
 * `: not an integer` after it for a fraction. An unknown key is refused
 * with the key most likely meant (`unknown option timeout; did you mean
 * timeoutMs?`), in the constructor's options, a trip policy, `execute`'s
 * options, {@link CircuitBreaker.adopt}'s fleet state and the
 * {@link Registry}'s. A permit used wrongly throws a
 * {@link PermitError}. `instanceof` works across copies of the package (its
 * ES module and CommonJS entries, two bundles): each exported class checks a
 * brand registered as `Symbol.for('halfopen.<ClassName>')`.
 *
 * @packageDocumentation
 */

/**
 * The state of a breaker.
 *
 * - `closed`: calls are allowed; the trip policy watches their outcomes.
 * - `open`: calls are rejected until the open period is over.
 * - `halfOpen`: up to `halfOpenMaxCalls` trial calls decide between `closed`
 *   and `open` again.
 * - `isolated`: calls are rejected until {@link CircuitBreaker.reset}.
 */
export type State = 'closed' | 'open' | 'halfOpen' | 'isolated';

/**
 * Why a call was rejected: `isolated` by {@link IsolatedCircuitError}, the
 * others by {@link BrokenCircuitError}.
 */
export type RejectReason = 'open' | 'halfOpenFull' | 'isolated' | 'clockOutOfRange';

/**
 * The rules of a window policy: the rate rule (`percent`), the count rule
 * (`failures`), or both (either trips). At least one must be given.
 */
export type WindowRules =
    | {
          /** The rate rule: trips when `failures * 100 >= percent * recorded` (1 ..= 100). */
          readonly percent: number;
          /** The count rule: trips on this many failures in the window. */
          readonly failures?: number | undefined;
      }
    | {
          readonly percent?: number | undefined;
          readonly failures: number;
      };

/** The `failureRate` policy: over the last `window` recorded outcomes. */
export type FailureRatePolicy = WindowRules & {
    /** How many of the last outcomes the window holds (1 ..= 64). */
    readonly window: number;
    /** The rate rule's minimum of outcomes in the window (1 ..= `window`). Default 1. */
    readonly minimumCalls?: number | undefined;
};

/** The `timeWindow` policy: over the outcomes of the last `windowMs` milliseconds. */
export type TimeWindowPolicy = WindowRules & {
    /** How many milliseconds the window spans (a multiple of `buckets`, at most 2^31 - 1). */
    readonly windowMs: number;
    /** How many buckets the window is kept in (1 ..= 64). */
    readonly buckets: number;
    /** The rate rule's minimum of outcomes in the window (1 ..= 2^31 - 1). Default 1. */
    readonly minimumCalls?: number | undefined;
};

/**
 * When a closed breaker opens: exactly one policy. Two in one object do
 * not type-check (the others are `?: undefined`), as the constructor refuses
 * them (`trip: more than one trip policy was given; choose one`).
 *
 * - `consecutiveFailures: N` (1 ..= 65535): after N failures in a row.
 * - `failureRate`: over the last `window` recorded outcomes (1 ..= 64).
 * - `timeWindow`: over the outcomes of the last `windowMs` milliseconds,
 *   kept in `buckets` buckets (1 ..= 64; `windowMs` a multiple of
 *   `buckets`, at most 2^31 - 1).
 *
 * Both window policies trip on either of two rules, of which at least one
 * is given: the rate rule, once the window holds at least `minimumCalls`
 * outcomes (default 1; at most `window` for `failureRate`, 2^31 - 1 for
 * `timeWindow`) and `failures * 100 >= percent * recorded` (percent
 * 1 ..= 100); the count rule, once the window holds at least `failures`
 * failures, whatever the number of calls (1 ..= `window` for
 * `failureRate`, 1 ..= 2^31 - 1 for `timeWindow`): "5 failures within
 * 60 s" is `{ timeWindow: { failures: 5, windowMs: 60_000, buckets: 12 } }`.
 */
export type TripPolicy =
    | { readonly consecutiveFailures: number; readonly failureRate?: undefined; readonly timeWindow?: undefined }
    | { readonly consecutiveFailures?: undefined; readonly failureRate: FailureRatePolicy; readonly timeWindow?: undefined }
    | { readonly consecutiveFailures?: undefined; readonly failureRate?: undefined; readonly timeWindow: TimeWindowPolicy };

/**
 * Longer open periods for a downstream that keeps failing its trials: the
 * open period is `openMs * factor^k` after `k` re-trips from half-open, at
 * most `maxOpenMs`.
 */
export interface Backoff {
    /** 1 ..= 16. */
    readonly factor: number;
    /** `openMs` ..= 2^31 - 1. */
    readonly maxOpenMs: number;
}

/**
 * Deterministic jitter: each opening's duration `d` (after backoff) is
 * shortened by up to `percent` % of it, by an amount fixed by `seed` and
 * the re-trip count, so that instances with different seeds do not all
 * retry at the same moment. No random number generator is involved.
 */
export interface Jitter {
    /** The most an opening is shortened by, in percent (1 ..= 100). */
    readonly percent: number;
    /** The instance's seed (0 ..= 2^32 - 1): an instance or isolate id. Default 0. */
    readonly seed?: number | undefined;
}

/**
 * A callback option: a function of `A` returning `T`, with a method's
 * parameter rule (bivariant, as `strictFunctionTypes` leaves methods), so
 * that a callback annotated with a narrower parameter type than the one
 * given (`isFailure: (e: Error) => ...` where the error is `unknown`) is
 * accepted.
 */
export type Callback<A extends unknown[], T> = { bivariant(...args: A): T }['bivariant'];

/**
 * How a breaker decides, and what it does around calls.
 *
 * Every number is an integer; durations are milliseconds. An invalid option
 * throws from the constructor, whose message names the option by its path
 * (`openMs`, `failureRate.window`, `backoff.maxOpenMs`) and the valid
 * range, and whose `key` property is that path (see {@link OptionError}):
 *
 * - a `TypeError` for a value of the wrong type: not a number (`openMs:
 *   '100'`: `openMs must be an integer in 1..=2147483647, got "100" (a
 *   string)`), not a function, not an object; an unknown key (with the key
 *   most likely meant: `unknown option timeout; did you mean timeoutMs?`),
 *   a missing key (`backoff.maxOpenMs is missing`), two trip policies;
 * - a `RangeError` for a number that is not valid: out of range (`openMs =
 *   0 is out of range 1..=2147483647`), not an integer (`openMs = 1.5 is
 *   out of range 1..=2147483647: not an integer`), not a multiple
 *   (`timeWindow.windowMs`); and for a string that is not valid, a bad
 *   `name`.
 *
 * The core checks every value: the message of an error it reports (out of
 * range, not a multiple, a policy's key missing, two policies) is its own
 * wording, the same as the Rust crate's. So is the message of every
 * rejection and of every refused snapshot.
 *
 * The callbacks have a method's parameter rule ({@link Callback}), so a
 * callback whose parameter is annotated with a narrower type (`isFailure:
 * (e: Error) => ...`) is accepted.
 *
 * Every option may also be given as `undefined`, which is the same as
 * leaving it out (`openMs: config.openMs` where that may be unset), under
 * `exactOptionalPropertyTypes` too.
 *
 * @typeParam R - what the operations of {@link CircuitBreaker.execute}
 *   resolve to: the parameter of `isResultFailure` (inferred from its
 *   annotation, or given: `new CircuitBreaker<Response>({ ... })`; `any`
 *   when neither says).
 * @typeParam F - what `fallback` resolves to.
 */
export interface CircuitBreakerOptions<R = any, F = never> {
    /**
     * The breaker's name, on each of its events and as the `name` label of
     * {@link Registry.metricsText}: 1 to 64 characters of `A-Z a-z 0-9 _ - . :`.
     * Default: none (a {@link Registry} gives each breaker the name it is
     * registered under).
     */
    readonly name?: string | undefined;
    /** The trip policy. Default `{ consecutiveFailures: 5 }`. */
    readonly trip?: TripPolicy | undefined;
    /** How long the breaker stays open before a trial call (1 ..= 2^31 - 1). Default 30000. */
    readonly openMs?: number | undefined;
    /** How many trial calls may be in flight in half-open (1 ..= 255). Default 1. */
    readonly halfOpenMaxCalls?: number | undefined;
    /** How many trial successes close the breaker (1 ..= 65535). Default 1. */
    readonly successThreshold?: number | undefined;
    /**
     * A success that took at least this long is recorded as a failure (a
     * slow call; 1 ..= 2^31 - 1). Default: off. The clock is then read when a
     * call starts and when it ends.
     */
    readonly slowCallMs?: number | undefined;
    /** Longer open periods after failed trials. Default: none. */
    readonly backoff?: Backoff | undefined;
    /**
     * A half-open breaker whose trials have not decided within this many
     * milliseconds of entering half-open (a lost promise, a hung call)
     * re-opens as if a trial had failed (1 ..= 2^31 - 1). Default: no limit.
     */
    readonly halfOpenMaxWaitMs?: number | undefined;
    /** Shortens each opening by a deterministic amount per instance. Default: none. */
    readonly jitter?: Jitter | undefined;
    /**
     * The time in milliseconds (fractions are dropped). Default `Date.now`.
     * It is read only when a decision needs it: never on the steady closed
     * path, unless `slowCallMs` or a `timeWindow` policy is set. It should
     * not go backwards; if it does, an open breaker stays open longer, never
     * shorter. A clock that throws or returns anything but a number `>= 0`
     * makes the operation that read it throw (or, once a call's promise is
     * settling, reports the error as uncaught); time then stands still.
     */
    readonly clock?: (() => number) | undefined;
    /**
     * An operation of {@link CircuitBreaker.execute} that takes longer is
     * abandoned: its signal aborts, the call counts as a failure and
     * `execute` rejects with a {@link CallTimeoutError} (1 ..= 2^31 - 1).
     * Default: no timeout.
     */
    readonly timeoutMs?: number | undefined;
    /**
     * Whether an error of the operation counts as a failure; `false` means
     * the call is ignored (it counts toward nothing). Default: every error is
     * a failure. If it throws, the call is a failure and `execute` rejects
     * with what it threw.
     */
    readonly isFailure?: Callback<[error: unknown], boolean> | undefined;
    /**
     * Whether a result of the operation counts as a failure (an HTTP 503, an
     * empty reply). The result is still returned. Default: no result is a
     * failure. If it throws, the call is a failure and `execute` rejects
     * with what it threw.
     */
    readonly isResultFailure?: Callback<[result: R], boolean> | undefined;
    /**
     * What {@link CircuitBreaker.execute} resolves to when the breaker
     * rejects the call, instead of rejecting with the error. Not called when
     * the operation itself fails.
     */
    readonly fallback?: Callback<[error: BrokenCircuitError | IsolatedCircuitError], F | PromiseLike<F>> | undefined;
}

/** What the operation of {@link CircuitBreaker.execute} receives. */
export interface CallContext {
    /**
     * Aborts when the call is abandoned: after `timeoutMs`, or when the
     * caller's own signal aborts. Pass it on (`fetch(url, { signal })`).
     */
    readonly signal: AbortSignal;
}

/**
 * Per-call options of {@link CircuitBreaker.execute}: `signal` only. Any
 * other key is refused (the promise rejects with a `TypeError` naming it;
 * `timeoutMs` and the other options are the breaker's).
 */
export interface ExecuteOptions {
    /**
     * Cancels the call: the operation's signal aborts, `execute` rejects with
     * the signal's reason, and the call counts toward nothing (its half-open
     * slot, if any, is freed). Already aborted: the operation does not run.
     */
    readonly signal?: AbortSignal | undefined;
}

/**
 * The right to make one call, from {@link CircuitBreaker.tryAcquire}. Record
 * how the call ended with exactly one of `success()`, `failure()` or
 * `ignore()`, or give it back with `release()`. A second outcome, or an
 * outcome after `release()`, throws a {@link PermitError}. A permit lost
 * without either (garbage collected) is released.
 */
export interface Permit {
    /** The call worked (a failure if it took `slowCallMs` or more). */
    success(): void;
    /** The call failed: counts toward tripping. */
    failure(): void;
    /** The outcome says nothing about the downstream's health: counts toward nothing. */
    ignore(): void;
    /** Gives the permit back without an outcome. Does nothing once an outcome is recorded. */
    release(): void;
}

/** The metrics of a breaker: monotonic totals (wrapping at 2^32) and the decision state. */
export interface Metrics {
    /** The state as of now. */
    readonly state: State;
    /** The current epoch: a new one starts at every transition, `isolate()` and `reset()`. */
    readonly epoch: number;
    /** Successes recorded. */
    readonly successes: number;
    /** Failures recorded, slow calls included. */
    readonly failures: number;
    /** Successes recorded as failures because they were slow. */
    readonly slowCalls: number;
    /** Outcomes recorded as ignored. */
    readonly ignored: number;
    /** Calls rejected. */
    readonly rejected: number;
    /** Changes of state. */
    readonly transitions: number;
    /** While open: when it opened (clock milliseconds). */
    readonly openedAt: number | undefined;
    /** While open: when a call will be let through as a trial. */
    readonly retryAt: number | undefined;
    /** The current run of consecutive failures (`consecutiveFailures` policy, closed). */
    readonly failureRun: number;
    /** The outcomes in the current window (`failureRate` and `timeWindow` policies). */
    readonly window: { readonly failures: number; readonly calls: number } | undefined;
}

/**
 * What caused a change of state:
 *
 * - `trip`: the trip policy fired (closed -> open);
 * - `retryAt`: a call came once the open period was over (open -> halfOpen);
 * - `trialsSucceeded`: enough trials succeeded (halfOpen -> closed);
 * - `trialFailed`: a trial failed (halfOpen -> open);
 * - `halfOpenMaxWait`: the trials did not decide within `halfOpenMaxWaitMs`
 *   (halfOpen -> open);
 * - `isolate`, `reset`: {@link CircuitBreaker.isolate},
 *   {@link CircuitBreaker.reset};
 * - `fleet`: a fleet state {@link CircuitBreaker.adopt}ed.
 */
export type TransitionCause = 'trip' | 'retryAt' | 'trialsSucceeded' | 'trialFailed' | 'halfOpenMaxWait' | 'isolate' | 'reset' | 'fleet';

/** A change of state, as {@link CircuitBreaker.onStateChange} listeners receive it. */
export interface StateChange {
    readonly from: State;
    readonly to: State;
    /** The epoch the change started. */
    readonly epoch: number;
    /** What caused it. */
    readonly cause: TransitionCause;
}

/**
 * A fleet's shared state, for {@link CircuitBreaker.adopt}: what instances
 * that share a store (Redis, a Durable Object) publish. A remaining time
 * crosses, never a time: the instances' clocks are not comparable.
 */
export type FleetState =
    | {
          readonly state: 'open';
          /** What is left of the fleet's open period, in ms (0 ..= 2^31 - 1). */
          readonly remainingMs: number;
          /** The fleet's re-trip count, for backoff (0 ..= 2^32 - 1). Default 0. */
          readonly k?: number | undefined;
      }
    | { readonly state: 'closed' | 'isolated'; readonly remainingMs?: undefined; readonly k?: undefined };

/**
 * The options of {@link CircuitBreaker.restore}: the breaker's own, and
 * whether its clock is the one the snapshot was taken on.
 */
export interface RestoreOptions<R = any, F = never> extends CircuitBreakerOptions<R, F> {
    /**
     * Whether the clock survived since the snapshot was taken (a wall
     * clock): the snapshot's times are then kept and the downtime counts
     * (an open breaker whose open period ran out while it was down is
     * past it), unless the clock reads behind the snapshot. Otherwise they
     * are re-based: the time between snapshot and restore counts as zero
     * (an open breaker with 20 s left has 20 s left).
     *
     * Default: `true` with the default clock (`Date.now`), `false` with a
     * `clock` option (`performance.now` and test clocks start again).
     */
    readonly sameClock?: boolean | undefined;
}

/**
 * The error an invalid option throws: a `TypeError` (wrong type, unknown or
 * missing key) or a `RangeError` (a value of the right type that is not
 * valid), with the option's path in `key` (`''` for the options object
 * itself).
 */
export type OptionError = (TypeError | RangeError) & { readonly key: string };

/**
 * A circuit breaker: it watches the outcomes of calls to one downstream and,
 * when the trip policy says the downstream is failing, rejects calls at once
 * for a while instead of piling more onto it.
 *
 * There is nothing to free: the WebAssembly memory of a breaker is released
 * when the breaker is garbage collected.
 *
 * `instanceof CircuitBreaker` is true for a breaker of any copy of the
 * package (see the package's documentation).
 *
 * @typeParam R - what its operations resolve to (`any` unless given or
 *   inferred from `isResultFailure`'s annotation): `execute` takes only
 *   operations that resolve to an `R`.
 * @typeParam F - what the `fallback` option resolves to (`never` without one).
 */
export declare class CircuitBreaker<R = any, F = never> extends EventTarget {
    /**
     * @throws {@link OptionError} for an invalid option; nothing is built then.
     */
    constructor(options?: CircuitBreakerOptions<R, F>);

    /** The `name` option; `undefined` without one. */
    readonly name: string | undefined;

    /**
     * The breaker's health as of now: `critical` when open or isolated,
     * `degraded` when half-open or closed at least half way to tripping,
     * else `healthy` (the Rust crate's `Breaker::health`).
     */
    health(): Health;

    /**
     * Listens to the per-call events of {@link CircuitBreaker.execute} (see
     * {@link CircuitBreakerEventMap}); each is a {@link CircuitBreakerEvent}
     * with the breaker's name. A breaker makes no event objects until a
     * listener is first added.
     */
    addEventListener<K extends keyof CircuitBreakerEventMap>(
        type: K,
        listener: ((this: CircuitBreaker<R, F>, event: CircuitBreakerEventMap[K]) => void) | { handleEvent(event: CircuitBreakerEventMap[K]): void } | null,
        options?: boolean | AddEventListenerOptions,
    ): void;
    addEventListener(type: string, listener: ((event: Event) => void) | { handleEvent(event: Event): void } | null, options?: boolean | AddEventListenerOptions): void;
    removeEventListener<K extends keyof CircuitBreakerEventMap>(
        type: K,
        listener: ((this: CircuitBreaker<R, F>, event: CircuitBreakerEventMap[K]) => void) | { handleEvent(event: CircuitBreakerEventMap[K]): void } | null,
        options?: boolean | EventListenerOptions,
    ): void;
    removeEventListener(type: string, listener: ((event: Event) => void) | { handleEvent(event: Event): void } | null, options?: boolean | EventListenerOptions): void;

    /**
     * A breaker with `options`, in the state a {@link CircuitBreaker.snapshot}
     * recorded: how an edge function keeps its breaker in a key-value store
     * between isolates. A missing snapshot (`null` or `undefined`: nothing
     * stored yet) gives a fresh breaker.
     *
     * The options must be those of the breaker the snapshot was taken from;
     * trial calls in flight, the buckets of a `timeWindow` and the metrics
     * totals are not carried. With the default clock (`Date.now`) the time
     * the breaker was down counts: a breaker restored after its open period
     * ran out lets a trial through. With a `clock` option the times are
     * re-based (the downtime counts as zero) unless `sameClock: true` says
     * the clock survived; see {@link RestoreOptions.sameClock}. Snapshots of
     * the previous format (40 bytes) still restore.
     *
     * @throws {@link SnapshotError} if the bytes are damaged, of another
     *   version or of a breaker with other options.
     * @throws {@link OptionError} for an invalid option.
     */
    static restore<R = any, F = never>(
        snapshot: ArrayBufferLike | ArrayBufferView | null | undefined,
        options?: RestoreOptions<R, F>,
    ): CircuitBreaker<R, F>;

    /**
     * Runs `fn({ signal })` if the breaker allows it and returns its promise
     * (a synchronous `fn` works too: its value or exception settles the
     * promise). The outcome is recorded before the promise's own handlers
     * run: a value is a success (unless `isResultFailure` says otherwise), an
     * exception or rejection a failure (unless `isFailure` says otherwise).
     *
     * When the breaker rejects the call, `fn` does not run and the promise
     * rejects with a {@link BrokenCircuitError} or an
     * {@link IsolatedCircuitError}, or resolves to what `fallback` gives.
     * With `timeoutMs`, a call that takes longer rejects with a
     * {@link CallTimeoutError}. Options other than `signal` are refused
     * (the promise rejects with a `TypeError`).
     */
    execute<T extends R>(fn: (context: CallContext) => T | PromiseLike<T>, options?: ExecuteOptions): Promise<Awaited<T> | F>;

    /**
     * Asks to make one call by hand: a {@link Permit} to record its outcome
     * on, or `undefined` if the breaker rejects the call (see `state` and
     * `metrics()` for why).
     */
    tryAcquire(): Permit | undefined;

    /**
     * The state as of now. Reading it changes nothing: once the open period
     * is over it reads `halfOpen`, although only the next call records the
     * transition.
     */
    readonly state: State;

    /** The metrics. */
    metrics(): Metrics;

    /** Rejects every call (with {@link IsolatedCircuitError}) until {@link CircuitBreaker.reset}. */
    isolate(): void;

    /**
     * Closes the breaker with a clean slate (failure run, windows, half-open
     * trials, backoff); the metrics totals are kept.
     */
    reset(): void;

    /**
     * Applies a fleet's shared state, at this breaker's own clock:
     *
     * - `open` with `remainingMs` r and `k`: a closed or half-open breaker
     *   opens until now + r (trials in flight become stale); an open one
     *   stays open at least until now + r, its re-trip count the larger;
     *   an isolated one does not change. Jitter does not apply.
     * - `closed`: an open, half-open or isolated breaker closes as
     *   {@link CircuitBreaker.reset} would; a closed one does not change.
     * - `isolated`: as {@link CircuitBreaker.isolate}.
     *
     * Counts do not travel: a store that counts outcomes for the fleet
     * decides the fleet's trip and publishes `open`. A change of state it
     * causes reaches the listeners with cause `fleet`.
     *
     * @throws {@link OptionError}, by the options' rule: a `RangeError`
     *   (`key` `remainingMs`: `remainingMs = -1 is out of range
     *   0..=2147483647`, with `: not an integer` for a fraction) for a
     *   remaining time outside 0 ..= 2^31 - 1, the same for `k` outside
     *   0 ..= 2^32 - 1, and for a `state` string that is not one of the three
     *   (with the one most likely meant); a `TypeError` for a value of the
     *   wrong type, an unknown key (with the key most likely meant), a
     *   missing `state` or `remainingMs` (`remainingMs is missing`), or
     *   `remainingMs`/`k` with a state other than `open`. The breaker is
     *   unchanged then.
     */
    adopt(fleet: FleetState): void;

    /**
     * Calls `listener` after every change of state. A listener that throws
     * disturbs neither the breaker nor the call: its error is reported as
     * uncaught (`reportError` where the host has it).
     *
     * @returns a function that unsubscribes the listener.
     */
    onStateChange(listener: (change: StateChange) => void): () => void;

    /**
     * The decision state as 48 bytes, with the clock reading it was taken
     * at, for {@link CircuitBreaker.restore}: store them in KV, a file or a
     * cookie.
     */
    snapshot(): Uint8Array;
}

/**
 * The breaker rejected the call: it is open, or half-open with every trial
 * call in flight. The operation did not run.
 */
export declare class BrokenCircuitError extends Error {
    readonly name: 'BrokenCircuitError';
    /**
     * `open`, `halfOpenFull`, or `clockOutOfRange`: the `clock` option read at
     * or past 2^59 ms, which is not a clock in milliseconds.
     */
    readonly reason: Exclude<RejectReason, 'isolated'>;
    /** When open: milliseconds until a trial call may be let through. */
    readonly retryAfterMs: number | undefined;
}

/** The breaker is isolated: every call is rejected until `reset()`. The operation did not run. */
export declare class IsolatedCircuitError extends Error {
    readonly name: 'IsolatedCircuitError';
    readonly reason: 'isolated';
}

/** The operation took longer than `timeoutMs`: it was aborted and counted as a failure. */
export declare class CallTimeoutError extends Error {
    readonly name: 'CallTimeoutError';
    /** The `timeoutMs` option. */
    readonly timeoutMs: number;
}

/**
 * A {@link Permit} used wrongly; the call that threw changed nothing.
 *
 * - `alreadyRecorded`: an outcome (`success()`, `failure()`, `ignore()`)
 *   after one was recorded;
 * - `alreadyReleased`: an outcome after `release()` gave the permit back.
 */
export declare class PermitError extends Error {
    readonly name: 'PermitError';
    readonly code: 'alreadyRecorded' | 'alreadyReleased';
}

/** {@link CircuitBreaker.restore} was given bytes it refuses. */
export declare class SnapshotError extends Error {
    readonly name: 'SnapshotError';
    /**
     * - `length`: not 48 bytes (nor the 40 of the previous format);
     * - `magic`, `version`: not a snapshot of this format;
     * - `checksum`: damaged;
     * - `foreignConfig`: taken from a breaker with other options;
     * - `invalid`: a field holds an impossible value;
     * - `inUse`: the breaker restored into was used first (`restore` builds
     *   a new one, so it does not meet this).
     */
    readonly reason: 'length' | 'magic' | 'version' | 'checksum' | 'foreignConfig' | 'invalid' | 'inUse';
}

/**
 * The options of a preset: a configuration, and for the presets of
 * services reached over a network with an operation timeout, `timeoutMs`.
 * Spread it into the options to add the others:
 * `new CircuitBreaker({ ...presets.database, fallback })`.
 */
export type PresetOptions = Readonly<
    Pick<CircuitBreakerOptions, 'openMs' | 'halfOpenMaxCalls' | 'successThreshold' | 'timeoutMs'> & {
        readonly trip: TripPolicy;
    }
>;

/**
 * Configurations for common downstreams: the Rust crate's
 * `halfopen::presets`, the same numbers, as options (frozen).
 */
export declare const presets: {
    /** An HTTP API: `{ trip: { consecutiveFailures: 5 }, openMs: 30000, halfOpenMaxCalls: 1, successThreshold: 1 }`. */
    readonly httpApi: PresetOptions;
    /** A database: `{ trip: { consecutiveFailures: 3 }, openMs: 60000, halfOpenMaxCalls: 1, successThreshold: 1 }`. */
    readonly database: PresetOptions;
    /** A critical service: `{ trip: { consecutiveFailures: 2 }, openMs: 300000, halfOpenMaxCalls: 1, successThreshold: 1 }`. */
    readonly criticalService: PresetOptions;
    /**
     * A high-volume downstream, 20 failures or 50 % of at least 20 calls of the last 40:
     * `{ trip: { failureRate: { percent: 50, failures: 20, window: 40, minimumCalls: 20 } }, openMs: 30000, halfOpenMaxCalls: 1, successThreshold: 1 }`.
     */
    readonly highVolume: PresetOptions;
    /** A platform API: `{ trip: { consecutiveFailures: 5 }, openMs: 30000, halfOpenMaxCalls: 3, successThreshold: 3 }`. */
    readonly platformApi: PresetOptions;
    /** A realtime messaging service: `{ trip: { consecutiveFailures: 3 }, openMs: 10000, halfOpenMaxCalls: 2, successThreshold: 2 }`. */
    readonly realtime: PresetOptions;
    /** An embedding service: `{ trip: { consecutiveFailures: 5 }, openMs: 60000, halfOpenMaxCalls: 3, successThreshold: 3 }`. */
    readonly embeddingService: PresetOptions;
    /**
     * Cloud-service defaults, 5 failures within 60 s:
     * `{ trip: { timeWindow: { failures: 5, windowMs: 60000, buckets: 12 } }, openMs: 30000, halfOpenMaxCalls: 5, successThreshold: 3, timeoutMs: 10000 }`.
     */
    readonly cloudService: PresetOptions;
    /**
     * A service bus, 5 failures within 60 s:
     * `{ trip: { timeWindow: { failures: 5, windowMs: 60000, buckets: 12 } }, openMs: 30000, halfOpenMaxCalls: 3, successThreshold: 3, timeoutMs: 5000 }`.
     */
    readonly serviceBus: PresetOptions;
    /**
     * Blob storage, 5 failures within 60 s:
     * `{ trip: { timeWindow: { failures: 5, windowMs: 60000, buckets: 12 } }, openMs: 30000, halfOpenMaxCalls: 5, successThreshold: 2, timeoutMs: 10000 }`.
     */
    readonly blobStorage: PresetOptions;
    /**
     * A key vault, 3 failures within 60 s:
     * `{ trip: { timeWindow: { failures: 3, windowMs: 60000, buckets: 12 } }, openMs: 60000, halfOpenMaxCalls: 2, successThreshold: 2, timeoutMs: 5000 }`.
     */
    readonly keyVault: PresetOptions;
};

/**
 * A breaker's health: `healthy`; `degraded` (half-open, or closed at least
 * half way to tripping); `critical` (open or isolated: calls are rejected).
 */
export type Health = 'healthy' | 'degraded' | 'critical';

/** The type of a per-call event. */
export type CircuitBreakerEventType = 'success' | 'failure' | 'reject' | 'timeout' | 'fallback';

/**
 * The per-call events of {@link CircuitBreaker.execute}, dispatched when the
 * outcome is recorded, before the call's promise settles for its caller:
 *
 * - `success`: the call worked (a slow call too, which the breaker counts
 *   as a failure);
 * - `failure`: it threw or rejected (and `isFailure` did not say to ignore
 *   it), or `isResultFailure` said its result is a failure;
 * - `timeout`: it took `timeoutMs` (counted as a failure; no `failure` event);
 * - `reject`: the breaker rejected it (`error`: the {@link BrokenCircuitError}
 *   or {@link IsolatedCircuitError});
 * - `fallback`: after `reject`, `fallback` gave the value the call resolves to.
 *
 * Calls recorded by hand through {@link CircuitBreaker.tryAcquire} make no events.
 */
export interface CircuitBreakerEventMap {
    success: CircuitBreakerEvent<'success', undefined>;
    failure: CircuitBreakerEvent<'failure', unknown>;
    reject: CircuitBreakerEvent<'reject', BrokenCircuitError | IsolatedCircuitError>;
    timeout: CircuitBreakerEvent<'timeout', CallTimeoutError>;
    fallback: CircuitBreakerEvent<'fallback', BrokenCircuitError | IsolatedCircuitError>;
}

/**
 * One call's event: an `Event` with the breaker's name and the call's error,
 * typed by the event's type in {@link CircuitBreakerEventMap}.
 *
 * @typeParam T - the event's type.
 * @typeParam E - its `error`.
 */
export declare class CircuitBreakerEvent<T extends CircuitBreakerEventType = CircuitBreakerEventType, E = unknown> extends Event {
    constructor(type: T, name: string | undefined, error: E);
    readonly type: T;
    /** The breaker's `name` option (`undefined` without one). */
    readonly name: string | undefined;
    /**
     * `failure`: what the call threw or rejected with (`undefined` for a
     * result `isResultFailure` refused); `timeout`: the
     * {@link CallTimeoutError}; `reject` and `fallback`: the rejection;
     * `success`: `undefined`.
     */
    readonly error: E;
}

/** The name of a preset of {@link presets}. */
export type PresetName = keyof typeof presets;

/**
 * The options of {@link Registry}.
 *
 * @typeParam F - what the defaults' `fallback` resolves to (`never` without one).
 */
export interface RegistryOptions<F = never> {
    /**
     * The options of every breaker built without its own: a preset's name
     * or options (without `name`). Checked when the registry is built.
     * Default `{}` (the breaker's defaults).
     */
    readonly defaults?: PresetName | (CircuitBreakerOptions<any, F> & { readonly name?: undefined }) | undefined;
}

/** One breaker of {@link Registry.report}. */
export interface BreakerReport {
    readonly name: string;
    readonly health: Health;
    readonly metrics: Metrics;
}

/**
 * Breakers by name, each built on first use, with their health and their
 * metrics in the Prometheus text format.
 *
 * ```ts
 * const breakers = new Registry({ defaults: 'httpApi' });
 * await breakers.get('search').execute(() => fetch(url));
 * await breakers.get('orders-db', 'database').execute(() => query());
 * res.setHeader('content-type', Registry.contentType).end(breakers.metricsText());
 * ```
 *
 * @typeParam F - what the defaults' `fallback` resolves to (`never`
 *   without one): a breaker built with the defaults may resolve to it.
 */
export declare class Registry<F = never> {
    /**
     * @throws {@link OptionError} for an unknown option, an unknown preset
     *   (`key` `preset`) or invalid defaults.
     */
    constructor(options?: RegistryOptions<F>);

    /** `text/plain; version=0.0.4; charset=utf-8`: the content type of {@link Registry.metricsText}. */
    static readonly contentType: string;

    /**
     * The breaker named `name`: the one registered, or a new one built with
     * `options` (a preset's name or options, their `name` the same if given),
     * else the registry's defaults. Options given for a name registered
     * already are not looked at (the Rust `Registry::get_or_register`).
     *
     * The types are the caller's word, as they cannot know which options
     * built a breaker registered already: `R` is what its operations resolve
     * to (`any` unless given or inferred from `options`), and `execute`
     * resolves to an `R` or to what a `fallback` gives, the defaults' (`F`)
     * or these options' (`G`).
     *
     * @throws {@link OptionError} (`key` `name`) for a name that is not 1 to
     *   64 characters of `A-Z a-z 0-9 _ - . :`, (`key` `preset`) for an
     *   unknown preset, or for an invalid option; nothing is registered then.
     */
    get<R = any, G = never>(name: string, options?: PresetName | CircuitBreakerOptions<R, G> | undefined): CircuitBreaker<R, F | G>;

    /** Whether a breaker of that name is registered. */
    has(name: string): boolean;

    /**
     * Removes the breaker of that name (a tenant or host gone): the registry
     * forgets it, its metrics and transitions; its WebAssembly memory is
     * released when nothing else holds the breaker. A later `get(name)`
     * builds a new one. Returns whether there was one.
     */
    delete(name: string): boolean;

    /** The number of breakers. */
    readonly size: number;

    /** The names, in registration order. */
    names(): string[];

    /** `[name, breaker]` pairs, in registration order. */
    [Symbol.iterator](): IterableIterator<[string, CircuitBreaker<any, unknown>]>;

    /** Every breaker's name, health and metrics, in registration order. */
    report(): BreakerReport[];

    /**
     * With a name: that breaker's health (a `RangeError`, `key` `name`, if
     * there is none). Without: the worst health of all (`healthy` when empty).
     */
    health(name?: string): Health;

    /**
     * The metrics of every breaker in the Prometheus text exposition format
     * (0.0.4), with the names and labels of the Rust `halfopen-service`
     * collector: `halfopen_state{name,state}`, `halfopen_successes_total`,
     * `halfopen_failures_total`, `halfopen_slow_calls_total`,
     * `halfopen_ignored_total`, `halfopen_rejected_total`,
     * `halfopen_transitions_total{name,from,to}`,
     * `halfopen_recovery_attempts_total`, `halfopen_retry_after_seconds`.
     * Serve it with {@link Registry.contentType}.
     */
    metricsText(): string;
}
