// The JavaScript face of the halfopen circuit breaker.
//
// Everything the breaker decides (states, epochs, trip policies, backoff,
// half-open permits, the valid range of every option, snapshots) is decided
// by the Rust core compiled to WebAssembly; this file translates: options into
// the core's configuration keys, promises into permits and outcomes, the
// core's codes into errors and strings. Per call, only numbers cross into
// wasm: one call to acquire a permit, one to record its outcome.
//
// It is written once, as an ES module; scripts/assemble.mjs derives the
// CommonJS copy. The wasm module is initialised by the entry that imports this
// file (node.cjs, workerd.js, browser.js) before any breaker is built.
import { WasmBreaker, configError, configInput, configKeysByte, maxDurationMs } from './halfopen.js';
import { registerHooks } from './hooks.js';

/** State codes of the wasm module, in order. */
const STATES = ['closed', 'open', 'halfOpen', 'isolated'];
/** Flag of an acquire's token: the permit holds a half-open trial slot. */
const HALF_OPEN_PERMIT = 1 << 16;
/** Rejection codes of an acquire. */
const REJECT_OPEN = -1;
const REJECT_ISOLATED = -3;
const REJECT_CLOCK_OUT_OF_RANGE = -4;
/** Outcome codes. */
const SUCCESS = 0;
const FAILURE = 1;
const IGNORE = 2;
/**
 * The value passed to the core for an option whose value is not an integer:
 * below every valid range, so the core's error names the option's range.
 */
const PROBE = -(2 ** 53);

/** Reports an error nobody can catch (a throwing listener), as hosts do. */
const report =
    typeof reportError === 'function'
        ? reportError
        : (error) =>
              queueMicrotask(() => {
                  throw error;
              });

function describe(value) {
    if (typeof value === 'string') return `${JSON.stringify(value)} (a string)`;
    if (typeof value === 'bigint') return `${value}n (a bigint)`;
    if (typeof value === 'function') return 'a function';
    if (value === null) return 'null';
    if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
    return String(value);
}

function optionError(Ctor, key, message) {
    const error = new Ctor(`halfopen: ${message}`);
    error.key = key;
    return error;
}

// ---------------------------------------------------------------------------
// Errors

/**
 * The breaker rejected the call: it is open, or half-open with every trial
 * call in flight. The operation did not run.
 */
export class BrokenCircuitError extends Error {
    /**
     * @param {'open' | 'halfOpenFull' | 'clockOutOfRange'} reason
     * @param {number | undefined} retryAfterMs
     */
    constructor(reason, retryAfterMs) {
        super(
            reason === 'open'
                ? `circuit open: call rejected${retryAfterMs === undefined ? '' : `, retry in ${retryAfterMs} ms`}`
                : reason === 'clockOutOfRange'
                  ? 'clock reading at or past 2^59 ms: the clock must count milliseconds (is it counting microseconds or nanoseconds?); call rejected'
                  : 'circuit half-open: every trial call is in flight, call rejected',
        );
        /** Why: `open`, `halfOpenFull` or `clockOutOfRange`. */
        this.reason = reason;
        /** When open: milliseconds until a trial call may be let through. */
        this.retryAfterMs = retryAfterMs;
    }
}
BrokenCircuitError.prototype.name = 'BrokenCircuitError';

/** The breaker is isolated: every call is rejected until `reset()`. */
export class IsolatedCircuitError extends Error {
    constructor() {
        super('circuit isolated: calls are rejected until it is reset');
        /** Always `isolated`. */
        this.reason = 'isolated';
    }
}
IsolatedCircuitError.prototype.name = 'IsolatedCircuitError';

/** The operation took longer than `timeoutMs`: it was aborted and counted as a failure. */
export class CallTimeoutError extends Error {
    /** @param {number} timeoutMs */
    constructor(timeoutMs) {
        super(`call timed out after ${timeoutMs} ms (timeoutMs) and was aborted`);
        /** The `timeoutMs` option. */
        this.timeoutMs = timeoutMs;
    }
}
CallTimeoutError.prototype.name = 'CallTimeoutError';

/** `CircuitBreaker.restore` was given bytes the core refuses; nothing was restored. */
export class SnapshotError extends Error {
    /**
     * @param {string} reason
     * @param {string} message
     */
    constructor(reason, message) {
        super(message);
        /** `length`, `magic`, `version`, `checksum`, `foreignConfig` or `invalid`. */
        this.reason = reason;
    }
}
SnapshotError.prototype.name = 'SnapshotError';

// ---------------------------------------------------------------------------
// Options: JS checks the shape (known keys, numbers, integers); the core
// checks every value against its range.

const PLAIN_KEYS = ['openMs', 'halfOpenMaxCalls', 'successThreshold', 'slowCallMs'];
const POLICIES = {
    consecutiveFailures: null,
    failureRate: ['percent', 'window', 'minimumCalls'],
    timeWindow: ['percent', 'windowMs', 'buckets', 'minimumCalls'],
};
const BACKOFF = ['factor', 'maxOpenMs'];
const FUNCTION_KEYS = ['clock', 'isFailure', 'isResultFailure', 'fallback'];
const ALL_KEYS = ['trip', ...PLAIN_KEYS, 'backoff', ...FUNCTION_KEYS, 'timeoutMs'];

function isPlainObject(value) {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The fields of a nested option object, all required, none unknown. */
function fields(path, value, names, visit) {
    if (!isPlainObject(value)) {
        throw optionError(TypeError, path, `${path} must be an object {${names.join(', ')}}, got ${describe(value)}`);
    }
    for (const k of Object.keys(value)) {
        if (!names.includes(k) && value[k] !== undefined) {
            throw optionError(TypeError, `${path}.${k}`, `unknown option ${path}.${k}; ${path} takes ${names.join(', ')}`);
        }
    }
    for (const k of names) {
        if (value[k] === undefined) {
            throw optionError(TypeError, `${path}.${k}`, `${path}.${k} is missing; ${path} takes ${names.join(', ')}`);
        }
        visit(`${path}.${k}`, value[k]);
    }
}

/**
 * Splits options into the core's key paths and values, and the JS-side
 * options. The first value that is not an integer is remembered (and the
 * core given PROBE for it) so that its error can name the core's range.
 */
function parseOptions(options) {
    if (options === undefined) options = {};
    if (!isPlainObject(options)) {
        throw optionError(TypeError, '', `options must be an object, got ${describe(options)}`);
    }
    const keys = [];
    const values = [];
    let bad;
    const number = (path, value) => {
        keys.push(keyIndex(path));
        if (typeof value === 'number' && Number.isSafeInteger(value)) {
            values.push(value);
            return;
        }
        values.push(PROBE);
        if (bad === undefined) {
            const notNumber = typeof value !== 'number' || Number.isNaN(value);
            bad = { path, value, Ctor: notNumber ? TypeError : RangeError };
        }
    };
    const js = {};
    for (const key of Object.keys(options)) {
        const value = options[key];
        if (value === undefined) continue;
        if (PLAIN_KEYS.includes(key)) {
            number(key, value);
        } else if (key === 'backoff') {
            fields('backoff', value, BACKOFF, number);
        } else if (key === 'trip') {
            const names = Object.keys(POLICIES);
            const given = isPlainObject(value) ? Object.keys(value).filter((k) => value[k] !== undefined) : [];
            if (given.length === 0) {
                throw optionError(TypeError, 'trip', `trip must name one policy: {${names.join(' | ')}: ...}, got ${describe(value)}`);
            }
            for (const policy of given) {
                if (!(policy in POLICIES)) {
                    throw optionError(TypeError, policy, `unknown trip policy ${policy}; the policies are ${names.join(', ')}`);
                }
                const params = POLICIES[policy];
                if (params === null) number(policy, value[policy]);
                else fields(policy, value[policy], params, number);
            }
        } else if (FUNCTION_KEYS.includes(key)) {
            if (typeof value !== 'function') {
                throw optionError(TypeError, key, `${key} must be a function, got ${describe(value)}`);
            }
            js[key] = value;
        } else if (key === 'timeoutMs') {
            // A JS-side option: the core knows nothing of it, only of the
            // longest duration any option may have.
            const max = maxDurationMs();
            if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
                const Ctor = typeof value !== 'number' || Number.isNaN(value) ? TypeError : RangeError;
                throw optionError(Ctor, key, `timeoutMs must be an integer in 1..=${max}, got ${describe(value)}`);
            }
            js.timeoutMs = value;
        } else {
            throw optionError(TypeError, key, `unknown option ${key}; the options are ${ALL_KEYS.join(', ')}`);
        }
    }
    return { keys, values, bad, js };
}

/** The core's configuration keys, by index (read from the wasm module once). */
let coreKeys;
function loadKeys() {
    if (coreKeys === undefined) {
        let list = '';
        for (let i = 0, b; (b = configKeysByte(i)) !== 0; i++) list += String.fromCharCode(b);
        coreKeys = list.split(',').slice(0, -1);
    }
    return coreKeys;
}
function keyIndex(path) {
    const i = loadKeys().indexOf(path);
    if (i < 0) throw new Error(`halfopen: the wasm module does not know the configuration key ${path}`);
    return i;
}

/** Kinds of a configuration error, by the wasm module's codes. */
const OUT_OF_RANGE = 0;
const NOT_MULTIPLE = 1;
const MISSING = 2;
const CONFLICT = 3;

/**
 * The error for the core's refusal of a configuration. The wording is the
 * core's (its ConfigError's Display); the parts come from the wasm module as
 * numbers: key index, kind, value, min, max, `of` key index, divisor.
 */
function configErrorFromCore(bad) {
    const [k, kind, value, min, max, of, divisor] = [0, 1, 2, 3, 4, 5, 6].map(configError);
    const keys = loadKeys();
    const key = k < 0 ? 'trip' : keys[k];
    if (bad !== undefined && key === bad.path) {
        const range = kind === OUT_OF_RANGE ? ` in ${min}..=${max}` : '';
        return optionError(bad.Ctor, key, `${key} must be an integer${range}, got ${describe(bad.value)}`);
    }
    switch (kind) {
        case OUT_OF_RANGE:
            return optionError(RangeError, key, `${key} = ${value} is out of range ${min}..=${max}`);
        case NOT_MULTIPLE:
            return optionError(RangeError, key, `${key} = ${value} is not a multiple of ${keys[of]} (${divisor})`);
        case MISSING:
            return optionError(TypeError, key, `${key} is missing`);
        case CONFLICT:
            return optionError(TypeError, 'trip', 'trip: more than one trip policy was given; choose one');
        default:
            return optionError(TypeError, key, `invalid configuration key ${key}`);
    }
}

/** Why the core refused a snapshot, by the wasm module's codes (0: restored). */
const SNAPSHOT_REASONS = [undefined, 'length', 'magic', 'version', 'checksum', 'foreignConfig', 'invalid'];

/** The core's wording of a refused snapshot (its SnapshotError's Display). */
function snapshotMessage(reason, bytes, inner) {
    switch (reason) {
        case 'length':
            return `snapshot is ${bytes.length} bytes, expected ${SNAPSHOT_LEN}`;
        case 'magic':
            return 'not a halfopen snapshot (bad magic)';
        case 'version':
            return `unsupported snapshot version ${bytes[2]}`;
        case 'checksum':
            return 'snapshot checksum mismatch: the bytes are damaged';
        case 'foreignConfig':
            return 'snapshot was taken from a breaker with another configuration';
        default:
            let field = '';
            for (let i = 0, b; (b = inner.invalid_field_byte(i)) !== 0; i++) field += String.fromCharCode(b);
            return `snapshot field ${field} holds an impossible value`;
    }
}

const SNAPSHOT_LEN = 40;
const METRICS_LEN = 13;

// ---------------------------------------------------------------------------
// The breaker's JS side, reached from wasm by id (see hooks.js). It holds the
// user's clock and listeners; the CircuitBreaker holds it.

class Hooks {
    constructor(clock) {
        this.clock = clock;
        /** A faulty clock's error, thrown by the next operation that checks. */
        this.fault = undefined;
        /** @type {Set<Function>} */
        this.listeners = new Set();
    }

    readClock() {
        let t;
        try {
            t = this.clock();
        } catch (error) {
            this.fault ??= error;
            return NaN;
        }
        if (typeof t === 'number' && t >= 0 && t !== Infinity) return t;
        this.fault ??= new TypeError(`halfopen: clock() must return a number of milliseconds >= 0, got ${describe(t)}`);
        return NaN;
    }

    onTransition(from, to, epoch) {
        if (this.listeners.size === 0) return;
        const change = Object.freeze({ from: STATES[from], to: STATES[to], epoch });
        for (const listener of [...this.listeners]) {
            try {
                listener(change);
            } catch (error) {
                report(error);
            }
        }
    }

    /** Throws a faulty clock's error, once. */
    check() {
        const fault = this.fault;
        if (fault !== undefined) {
            this.fault = undefined;
            throw fault;
        }
    }

    /** Reports a faulty clock's error where nobody can catch it. */
    reportFault() {
        const fault = this.fault;
        if (fault !== undefined) {
            this.fault = undefined;
            report(fault);
        }
    }
}

/**
 * Permits lost to the garbage collector without an outcome are a *drop*:
 * their half-open slot is freed. Only half-open permits are registered (a
 * closed-state permit holds no slot), so the steady state pays nothing.
 */
const lost =
    typeof FinalizationRegistry === 'function'
        ? new FinalizationRegistry(([inner, token, started]) => {
              try {
                  inner.release(token, started);
              } catch {
                  // The breaker is gone too.
              }
          })
        : undefined;

// ---------------------------------------------------------------------------
// One call's context: the AbortSignal, made only if the operation asks.

let abortContext;

class CallContext {
    #controller = undefined;
    #aborted = false;
    #reason = undefined;

    /** Fires when the call is abandoned: on timeout, or when the caller's signal aborts. */
    get signal() {
        if (this.#controller === undefined) {
            this.#controller = new AbortController();
            if (this.#aborted) this.#controller.abort(this.#reason);
        }
        return this.#controller.signal;
    }

    static {
        abortContext = (ctx, reason) => {
            ctx.#aborted = true;
            ctx.#reason = reason;
            ctx.#controller?.abort(reason);
        };
    }
}

/**
 * The context of a call that nothing can abandon (no timeout, no caller's
 * signal): shared by all such calls, with a fresh signal, which never aborts,
 * for each reading (so listeners added to one are collected with it).
 */
const CALM = Object.freeze({
    get signal() {
        return new AbortController().signal;
    },
});

function isAbortSignal(value) {
    return (
        typeof value === 'object' &&
        value !== null &&
        typeof value.aborted === 'boolean' &&
        typeof value.addEventListener === 'function' &&
        typeof value.removeEventListener === 'function'
    );
}

function isThenable(value) {
    return (
        value !== null &&
        (typeof value === 'object' || typeof value === 'function') &&
        typeof value.then === 'function'
    );
}

// ---------------------------------------------------------------------------
// Permits

/**
 * The right to make one call. Record how it ended with exactly one of
 * `success()`, `failure()` or `ignore()`; `release()` gives it back without
 * an outcome (and does nothing once an outcome is recorded).
 */
class Permit {
    #inner;
    #hooks;
    #token;
    #started;
    #done = false;

    constructor(inner, hooks, token, started) {
        this.#inner = inner;
        this.#hooks = hooks;
        this.#token = token;
        this.#started = started;
        if (token & HALF_OPEN_PERMIT) lost?.register(this, [inner, token, started], this);
    }

    #finish(outcome) {
        if (this.#done) {
            throw new Error('halfopen: this permit already recorded its outcome');
        }
        this.#done = true;
        if (this.#token & HALF_OPEN_PERMIT) lost?.unregister(this);
        this.#inner.record(this.#token, this.#started, outcome);
        this.#hooks.check();
    }

    /** The call worked (recorded as a failure if it took `slowCallMs` or more). */
    success() {
        this.#finish(SUCCESS);
    }

    /** The call failed: counts toward tripping. */
    failure() {
        this.#finish(FAILURE);
    }

    /** The outcome says nothing about the downstream's health: counts toward nothing. */
    ignore() {
        this.#finish(IGNORE);
    }

    /** Gives the permit back without an outcome; a no-op once one is recorded. */
    release() {
        if (this.#done) return;
        this.#done = true;
        if (this.#token & HALF_OPEN_PERMIT) lost?.unregister(this);
        this.#inner.release(this.#token, this.#started);
        this.#hooks.check();
    }
}
if (typeof Symbol.dispose === 'symbol') Permit.prototype[Symbol.dispose] = Permit.prototype.release;

// ---------------------------------------------------------------------------
// The breaker

let nextId = 1;

/**
 * A circuit breaker. See index.d.ts for the documented API.
 */
export class CircuitBreaker {
    #inner;
    #hooks;
    /** Whether `slowCallMs` is set: permits then carry their start time. */
    #slow;
    #timeoutMs;
    #isFailure;
    #isResultFailure;
    #fallback;
    /** No timeout and no classifier: an operation's promise is returned as is. */
    #plain;
    /** Outcome handlers for the last closed-state token (reused while it holds). */
    #cachedToken = -1;
    #cachedOk = undefined;
    #cachedErr = undefined;

    constructor(options) {
        const { keys, values, bad, js } = parseOptions(options);
        const id = nextId++;
        for (let i = 0; i < keys.length; i++) configInput(i, keys[i], values[i]);
        const inner = WasmBreaker.create(keys.length, id, js.clock !== undefined);
        if (inner === undefined) throw configErrorFromCore(bad);
        this.#inner = inner;
        this.#hooks = new Hooks(js.clock);
        registerHooks(id, this, this.#hooks);
        this.#slow = keys.includes(keyIndex('slowCallMs'));
        this.#timeoutMs = js.timeoutMs ?? 0;
        this.#isFailure = js.isFailure;
        this.#isResultFailure = js.isResultFailure;
        this.#fallback = js.fallback;
        this.#plain = this.#timeoutMs === 0 && js.isFailure === undefined && js.isResultFailure === undefined;
    }

    /** A breaker with `options`, in the state `snapshot` recorded. */
    static restore(snapshot, options) {
        const breaker = new CircuitBreaker(options);
        if (snapshot === undefined || snapshot === null) return breaker;
        let bytes;
        if (ArrayBuffer.isView(snapshot)) {
            bytes = new Uint8Array(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
        } else if (/^\[object (Shared)?ArrayBuffer\]$/.test(Object.prototype.toString.call(snapshot))) {
            bytes = new Uint8Array(snapshot);
        } else {
            throw new TypeError(
                `halfopen: restore(snapshot) takes the bytes of snapshot() (a Uint8Array, an ArrayBuffer or a view), got ${describe(snapshot)}`,
            );
        }
        const inner = breaker.#inner;
        if (bytes.length === SNAPSHOT_LEN) {
            const view = new DataView(bytes.buffer, bytes.byteOffset, SNAPSHOT_LEN);
            for (let i = 0; i < SNAPSHOT_LEN / 4; i++) inner.set_snapshot_word(i, view.getUint32(4 * i, true));
        }
        const reason = SNAPSHOT_REASONS[inner.restore(bytes.length)];
        if (reason !== undefined) {
            throw new SnapshotError(reason, `halfopen: ${snapshotMessage(reason, bytes, inner)}`);
        }
        return breaker;
    }

    /** Runs `fn` if the breaker allows it; see index.d.ts. */
    execute(fn, options) {
        let signal;
        if (options !== undefined) {
            signal = options?.signal;
            if (signal !== undefined && !isAbortSignal(signal)) {
                return Promise.reject(new TypeError(`halfopen: execute's signal must be an AbortSignal, got ${describe(signal)}`));
            }
        }
        if (typeof fn !== 'function') {
            return Promise.reject(new TypeError(`halfopen: execute(fn) takes a function, got ${describe(fn)}`));
        }
        if (signal?.aborted) return Promise.reject(signal.reason);
        const inner = this.#inner;
        const token = inner.acquire();
        const hooks = this.#hooks;
        if (hooks.fault !== undefined) {
            try {
                if (token >= 0) inner.release(token, this.#slow ? inner.started_ms() : 0);
                hooks.check();
            } catch (error) {
                return Promise.reject(error);
            }
        }
        if (token < 0) return this.#rejected(token);
        const started = this.#slow ? inner.started_ms() : 0;
        if (this.#plain && signal === undefined) return this.#run(fn, token, started);
        return this.#runGuarded(fn, token, started, signal);
    }

    #rejected(code) {
        let error;
        if (code === REJECT_ISOLATED) {
            error = new IsolatedCircuitError();
        } else if (code === REJECT_OPEN) {
            const ms = this.#inner.retry_after_ms();
            error = new BrokenCircuitError('open', ms < 0 ? undefined : ms);
        } else if (code === REJECT_CLOCK_OUT_OF_RANGE) {
            error = new BrokenCircuitError('clockOutOfRange', undefined);
        } else {
            error = new BrokenCircuitError('halfOpenFull', undefined);
        }
        const fallback = this.#fallback;
        if (fallback === undefined) return Promise.reject(error);
        try {
            return Promise.resolve(fallback(error));
        } catch (fallbackError) {
            return Promise.reject(fallbackError);
        }
    }

    /** The fast path: the operation's own promise goes back to the caller. */
    #run(fn, token, started) {
        const inner = this.#inner;
        let result;
        try {
            result = fn(CALM);
        } catch (error) {
            inner.record(token, started, FAILURE);
            this.#hooks.reportFault();
            return Promise.reject(error);
        }
        if (!isThenable(result)) {
            inner.record(token, started, SUCCESS);
            this.#hooks.reportFault();
            return Promise.resolve(result);
        }
        const promise = result instanceof Promise ? result : Promise.resolve(result);
        if (started === 0 && !(token & HALF_OPEN_PERMIT)) {
            // The steady state: the same token for every call of an epoch,
            // so the same two handlers serve them all.
            if (this.#cachedToken !== token) this.#cacheHandlers(token);
            promise.then(this.#cachedOk, this.#cachedErr);
            return promise;
        }
        const hooks = this.#hooks;
        const guarded = (token & HALF_OPEN_PERMIT) !== 0 && lost !== undefined;
        if (guarded) lost.register(promise, [inner, token, started], promise);
        const settle = (outcome) => {
            if (guarded) lost.unregister(promise);
            inner.record(token, started, outcome);
            hooks.reportFault();
        };
        promise.then(
            () => settle(SUCCESS),
            () => settle(FAILURE),
        );
        return promise;
    }

    #cacheHandlers(token) {
        const inner = this.#inner;
        const hooks = this.#hooks;
        this.#cachedToken = token;
        this.#cachedOk = () => {
            inner.record(token, 0, SUCCESS);
            hooks.reportFault();
        };
        this.#cachedErr = () => {
            inner.record(token, 0, FAILURE);
            hooks.reportFault();
        };
    }

    /** With a timeout, the caller's signal or a classifier: a promise of our own. */
    #runGuarded(fn, token, started, signal) {
        const inner = this.#inner;
        const hooks = this.#hooks;
        const timeoutMs = this.#timeoutMs;
        const isFailure = this.#isFailure;
        const isResultFailure = this.#isResultFailure;
        const ctx = new CallContext();
        return new Promise((resolve, reject) => {
            let done = false;
            let timer;
            let result;
            const finish = () => {
                done = true;
                if (timer !== undefined) clearTimeout(timer);
                signal?.removeEventListener('abort', onAbort);
                if (result !== undefined && token & HALF_OPEN_PERMIT) lost?.unregister(result);
            };
            const record = (outcome) => {
                inner.record(token, started, outcome);
                hooks.reportFault();
            };
            const onValue = (value) => {
                if (done) return;
                finish();
                let failed = false;
                if (isResultFailure !== undefined) {
                    try {
                        failed = Boolean(isResultFailure(value));
                    } catch (classifierError) {
                        record(FAILURE);
                        reject(classifierError);
                        return;
                    }
                }
                record(failed ? FAILURE : SUCCESS);
                resolve(value);
            };
            const onError = (error) => {
                if (done) return;
                finish();
                let failed = true;
                if (isFailure !== undefined) {
                    try {
                        failed = Boolean(isFailure(error));
                    } catch (classifierError) {
                        record(FAILURE);
                        reject(classifierError);
                        return;
                    }
                }
                record(failed ? FAILURE : IGNORE);
                reject(error);
            };
            const onAbort = () => {
                if (done) return;
                finish();
                // Cancelled by the caller: a drop, counted toward nothing.
                inner.release(token, started);
                hooks.reportFault();
                abortContext(ctx, signal.reason);
                reject(signal.reason);
            };
            if (timeoutMs > 0) {
                timer = setTimeout(() => {
                    if (done) return;
                    finish();
                    record(FAILURE);
                    const error = new CallTimeoutError(timeoutMs);
                    abortContext(ctx, error);
                    reject(error);
                }, timeoutMs);
            }
            signal?.addEventListener('abort', onAbort, { once: true });
            try {
                result = fn(ctx);
            } catch (error) {
                onError(error);
                return;
            }
            if (!isThenable(result)) {
                onValue(result);
                return;
            }
            if (token & HALF_OPEN_PERMIT && !done) {
                lost?.register(result, [inner, token, started], result);
            }
            result.then(onValue, onError);
        });
    }

    /** Asks for a permit to make one call by hand; `undefined` if rejected. */
    tryAcquire() {
        const inner = this.#inner;
        const token = inner.acquire();
        const hooks = this.#hooks;
        if (hooks.fault !== undefined && token >= 0) {
            inner.release(token, this.#slow ? inner.started_ms() : 0);
        }
        hooks.check();
        if (token < 0) return undefined;
        return new Permit(inner, hooks, token, this.#slow ? inner.started_ms() : 0);
    }

    /** The state as of now. */
    get state() {
        const code = this.#inner.state();
        this.#hooks.check();
        return STATES[code];
    }

    /** The metrics: totals and the current decision state. */
    metrics() {
        const inner = this.#inner;
        inner.load_metrics();
        this.#hooks.check();
        const m = new Array(METRICS_LEN);
        for (let i = 0; i < METRICS_LEN; i++) m[i] = inner.metric(i);
        const time = (v) => (Number.isNaN(v) ? undefined : v);
        return {
            state: STATES[m[0]],
            epoch: m[1],
            successes: m[2],
            failures: m[3],
            slowCalls: m[4],
            ignored: m[5],
            rejected: m[6],
            transitions: m[7],
            openedAt: time(m[8]),
            retryAt: time(m[9]),
            failureRun: m[10],
            window: Number.isNaN(m[11]) ? undefined : { failures: m[11], calls: m[12] },
        };
    }

    /** Rejects every call until `reset()`. */
    isolate() {
        this.#inner.isolate();
        this.#hooks.check();
    }

    /** Closes the breaker with a clean slate; the metrics totals are kept. */
    reset() {
        this.#inner.reset();
        this.#hooks.check();
    }

    /** Calls `listener` at every change of state; returns a function that unsubscribes it. */
    onStateChange(listener) {
        if (typeof listener !== 'function') {
            throw new TypeError(`halfopen: onStateChange(listener) takes a function, got ${describe(listener)}`);
        }
        const listeners = this.#hooks.listeners;
        // A set keeps each listener once; wrapping makes each subscription its own.
        const subscription = (change) => listener(change);
        listeners.add(subscription);
        return () => {
            listeners.delete(subscription);
        };
    }

    /** The decision state as bytes, for `CircuitBreaker.restore`. */
    snapshot() {
        const inner = this.#inner;
        inner.take_snapshot();
        this.#hooks.check();
        const bytes = new Uint8Array(SNAPSHOT_LEN);
        const view = new DataView(bytes.buffer);
        for (let i = 0; i < SNAPSHOT_LEN / 4; i++) view.setUint32(4 * i, inner.snapshot_word(i), true);
        return bytes;
    }
}
