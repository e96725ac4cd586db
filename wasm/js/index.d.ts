/**
 * halfopen: a lock-free circuit breaker, written once in Rust and compiled to
 * WebAssembly, for Node.js (ES modules and CommonJS), browsers and Cloudflare
 * Workers.
 *
 * ```ts
 * import { CircuitBreaker, BrokenCircuitError } from 'halfopen';
 *
 * const breaker = new CircuitBreaker({
 *   trip: { consecutiveFailures: 5 },
 *   openMs: 30_000,
 *   timeoutMs: 2_000,
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
 * When a closed breaker opens: exactly one policy.
 *
 * - `consecutiveFailures: N` (1 ..= 65535): after N failures in a row.
 * - `failureRate`: over the last `window` recorded outcomes (1 ..= 64), once
 *   at least `minimumCalls` (1 ..= window) are recorded and
 *   `failures * 100 >= percent * recorded` (percent 1 ..= 100).
 * - `timeWindow`: the same rule over the outcomes of the last `windowMs`
 *   milliseconds, kept in `buckets` buckets (1 ..= 64; `windowMs` a multiple
 *   of `buckets`, at most 2^31 - 1; `minimumCalls` >= 1).
 */
export type TripPolicy =
    | { readonly consecutiveFailures: number }
    | {
          readonly failureRate: {
              readonly percent: number;
              readonly window: number;
              readonly minimumCalls: number;
          };
      }
    | {
          readonly timeWindow: {
              readonly percent: number;
              readonly windowMs: number;
              readonly buckets: number;
              readonly minimumCalls: number;
          };
      };

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
 * How a breaker decides, and what it does around calls.
 *
 * Every number is an integer; durations are milliseconds. An invalid option
 * throws from the constructor a `TypeError` (wrong type, unknown or missing
 * key) or a `RangeError` (out of range) whose message names the option by
 * its path (`openMs`, `failureRate.window`, `backoff.maxOpenMs`) and the
 * valid range, and whose `key` property is that path (see
 * {@link OptionError}).
 *
 * The core checks every value: the message of an error it reports (out of
 * range, not a multiple, a policy's key missing, two policies) is its own
 * wording, the same as the Rust crate's (`openMs = 0 is out of range
 * 1..=2147483647`). So is the message of every rejection and of every
 * refused snapshot.
 *
 * @typeParam F - what `fallback` resolves to.
 */
export interface CircuitBreakerOptions<F = never> {
    /** The trip policy. Default `{ consecutiveFailures: 5 }`. */
    readonly trip?: TripPolicy;
    /** How long the breaker stays open before a trial call (1 ..= 2^31 - 1). Default 30000. */
    readonly openMs?: number;
    /** How many trial calls may be in flight in half-open (1 ..= 255). Default 1. */
    readonly halfOpenMaxCalls?: number;
    /** How many trial successes close the breaker (1 ..= 65535). Default 1. */
    readonly successThreshold?: number;
    /**
     * A success that took at least this long is recorded as a failure (a
     * slow call; 1 ..= 2^31 - 1). Default: off. The clock is then read when a
     * call starts and when it ends.
     */
    readonly slowCallMs?: number;
    /** Longer open periods after failed trials. Default: none. */
    readonly backoff?: Backoff;
    /**
     * The time in milliseconds (fractions are dropped). Default `Date.now`.
     * It is read only when a decision needs it: never on the steady closed
     * path, unless `slowCallMs` or a `timeWindow` policy is set. It should
     * not go backwards; if it does, an open breaker stays open longer, never
     * shorter. A clock that throws or returns anything but a number `>= 0`
     * makes the operation that read it throw (or, once a call's promise is
     * settling, reports the error as uncaught); time then stands still.
     */
    readonly clock?: () => number;
    /**
     * An operation of {@link CircuitBreaker.execute} that takes longer is
     * abandoned: its signal aborts, the call counts as a failure and
     * `execute` rejects with a {@link CallTimeoutError} (1 ..= 2^31 - 1).
     * Default: no timeout.
     */
    readonly timeoutMs?: number;
    /**
     * Whether an error of the operation counts as a failure; `false` means
     * the call is ignored (it counts toward nothing). Default: every error is
     * a failure. If it throws, the call is a failure and `execute` rejects
     * with what it threw.
     */
    readonly isFailure?: (error: unknown) => boolean;
    /**
     * Whether a result of the operation counts as a failure (an HTTP 503, an
     * empty reply). The result is still returned. Default: no result is a
     * failure. If it throws, the call is a failure and `execute` rejects
     * with what it threw.
     */
    readonly isResultFailure?: (result: unknown) => boolean;
    /**
     * What {@link CircuitBreaker.execute} resolves to when the breaker
     * rejects the call, instead of rejecting with the error. Not called when
     * the operation itself fails.
     */
    readonly fallback?: (error: BrokenCircuitError | IsolatedCircuitError) => F | PromiseLike<F>;
}

/** What the operation of {@link CircuitBreaker.execute} receives. */
export interface CallContext {
    /**
     * Aborts when the call is abandoned: after `timeoutMs`, or when the
     * caller's own signal aborts. Pass it on (`fetch(url, { signal })`).
     */
    readonly signal: AbortSignal;
}

/** Per-call options of {@link CircuitBreaker.execute}. */
export interface ExecuteOptions {
    /**
     * Cancels the call: the operation's signal aborts, `execute` rejects with
     * the signal's reason, and the call counts toward nothing (its half-open
     * slot, if any, is freed). Already aborted: the operation does not run.
     */
    readonly signal?: AbortSignal;
}

/**
 * The right to make one call, from {@link CircuitBreaker.tryAcquire}. Record
 * how the call ended with exactly one of `success()`, `failure()` or
 * `ignore()` (a second one throws), or give it back with `release()`. A
 * permit lost without either (garbage collected) is released.
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

/** A change of state, as {@link CircuitBreaker.onStateChange} listeners receive it. */
export interface StateChange {
    readonly from: State;
    readonly to: State;
    /** The epoch the change started. */
    readonly epoch: number;
}

/**
 * The error an invalid option throws: a `TypeError` or `RangeError` with the
 * option's path in `key`.
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
 * @typeParam F - what the `fallback` option resolves to (`never` without one).
 */
export declare class CircuitBreaker<F = never> {
    /**
     * @throws {@link OptionError} for an invalid option; nothing is built then.
     */
    constructor(options?: CircuitBreakerOptions<F>);

    /**
     * A breaker with `options`, in the state a {@link CircuitBreaker.snapshot}
     * recorded: how an edge function keeps its breaker in a key-value store
     * between isolates. A missing snapshot (`null` or `undefined`: nothing
     * stored yet) gives a fresh breaker.
     *
     * The options must be those of the breaker the snapshot was taken from;
     * trial calls in flight, the buckets of a `timeWindow` and the metrics
     * totals are not carried.
     *
     * @throws {@link SnapshotError} if the bytes are damaged, of another
     *   version or of a breaker with other options.
     * @throws {@link OptionError} for an invalid option.
     */
    static restore<F = never>(
        snapshot: ArrayBufferLike | ArrayBufferView | null | undefined,
        options?: CircuitBreakerOptions<F>,
    ): CircuitBreaker<F>;

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
     * {@link CallTimeoutError}.
     */
    execute<T>(fn: (context: CallContext) => T | PromiseLike<T>, options?: ExecuteOptions): Promise<Awaited<T> | F>;

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
     * Calls `listener` after every change of state. A listener that throws
     * disturbs neither the breaker nor the call: its error is reported as
     * uncaught (`reportError` where the host has it).
     *
     * @returns a function that unsubscribes the listener.
     */
    onStateChange(listener: (change: StateChange) => void): () => void;

    /**
     * The decision state as 40 bytes, for {@link CircuitBreaker.restore}:
     * store them in KV, a file or a cookie.
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

/** {@link CircuitBreaker.restore} was given bytes it refuses. */
export declare class SnapshotError extends Error {
    readonly name: 'SnapshotError';
    /**
     * - `length`: not 40 bytes;
     * - `magic`, `version`: not a snapshot of this format;
     * - `checksum`: damaged;
     * - `foreignConfig`: taken from a breaker with other options;
     * - `invalid`: a field holds an impossible value;
     * - `inUse`: the breaker restored into was used first (`restore` builds
     *   a new one, so it does not meet this).
     */
    readonly reason: 'length' | 'magic' | 'version' | 'checksum' | 'foreignConfig' | 'invalid' | 'inUse';
}
