// The JavaScript face of the halfopen circuit breaker.
//
// Everything the breaker decides (states, epochs, trip policies, backoff,
// half-open permits, whether a call is timed, the valid range of every
// option, snapshots) is decided by the Rust core compiled to WebAssembly;
// this file translates: options into the core's configuration keys, promises
// into permits and outcomes, the core's codes into errors and strings. Per
// call, only numbers cross into wasm: one call to acquire a permit, one to
// record its outcome.
//
// The codes, key names, metric order and error messages it translates with
// are not written here: they come from facts.js, generated from the Rust
// definitions (wasm/tests/generated.rs), messages included.
//
// It is written once, as an ES module; scripts/assemble.mjs derives the
// CommonJS copy. The wasm module is initialised by the entry that imports this
// file (node.cjs, workerd.js, browser.js) before any breaker is built.
import * as wasm from './halfopen.js';
import { registerHooks } from './hooks.js';
import {
    CAUSES,
    CONFIG_ERRORS,
    CONFIG_ERROR_LEN,
    CONFIG_KEYS,
    CONFLICT_KEY,
    FLEET_STATES,
    HALF_OPEN_PERMIT,
    METRICS,
    OUTCOME_FAILURE,
    OUTCOME_IGNORE,
    OUTCOME_SUCCESS,
    PRESETS,
    REJECT_MESSAGES,
    REJECT_REASONS,
    SNAPSHOT_ERRORS,
    SNAPSHOT_LEN,
    STATES,
    TIMED_PERMIT,
    TRIP_POLICIES,
} from './facts.js';
import { BrandedError, brand, isInstance } from './brand.js';
import {
    checkName,
    describe,
    didYouMean,
    isPlainObject,
    keyed,
    meant,
    numberError,
    optionError,
    unknownKey,
    unknownKeyError,
} from './option-errors.js';

const SUCCESS = OUTCOME_SUCCESS;
/** The code of the fleet state `open`. */
const FLEET_OPEN = FLEET_STATES.indexOf('open');
const FAILURE = OUTCOME_FAILURE;
const IGNORE = OUTCOME_IGNORE;
/** The rejection reason of a rejection code (< 0). */
const rejectReason = (code) => REJECT_REASONS[-1 - code];
/** The core's message of a rejection. */
const rejectMessage = (reason, retryAfterMs) => REJECT_MESSAGES[REJECT_REASONS.indexOf(reason)](retryAfterMs);
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

/** Whether `value` is an integer in min..=max. */
const isIntegerIn = (value, min, max) => Number.isInteger(value) && value >= min && value <= max;

// ---------------------------------------------------------------------------
// Errors, and `instanceof` across copies of the package
//
// Each exported class is branded (brand.js): `instanceof` holds across the
// copies of the package a program may load (ES module and CommonJS entries,
// two bundles).

/**
 * The breaker rejected the call: it is open, or half-open with every trial
 * call in flight. The operation did not run. The message is the core's.
 */
export class BrokenCircuitError extends BrandedError {
    /**
     * @param {'open' | 'halfOpenFull' | 'clockOutOfRange'} reason
     * @param {number | undefined} retryAfterMs
     */
    constructor(reason, retryAfterMs) {
        super(rejectMessage(reason, retryAfterMs));
        /** Why: `open`, `halfOpenFull` or `clockOutOfRange`. */
        this.reason = reason;
        /** When open: milliseconds until a trial call may be let through. */
        this.retryAfterMs = retryAfterMs;
    }
}
BrokenCircuitError.prototype.name = 'BrokenCircuitError';
brand(BrokenCircuitError, 'BrokenCircuitError');

/** The breaker is isolated: every call is rejected until `reset()`. The message is the core's. */
export class IsolatedCircuitError extends BrandedError {
    constructor() {
        super(rejectMessage('isolated', undefined));
        /** Always `isolated`. */
        this.reason = 'isolated';
    }
}
IsolatedCircuitError.prototype.name = 'IsolatedCircuitError';
brand(IsolatedCircuitError, 'IsolatedCircuitError');

/** The operation took longer than `timeoutMs`: it was aborted and counted as a failure. */
export class CallTimeoutError extends BrandedError {
    /** @param {number} timeoutMs */
    constructor(timeoutMs) {
        super(`call timed out after ${timeoutMs} ms (timeoutMs) and was aborted`);
        /** The `timeoutMs` option. */
        this.timeoutMs = timeoutMs;
    }
}
CallTimeoutError.prototype.name = 'CallTimeoutError';
brand(CallTimeoutError, 'CallTimeoutError');

/** `CircuitBreaker.restore` was given bytes the core refuses; nothing was restored. */
export class SnapshotError extends BrandedError {
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
brand(SnapshotError, 'SnapshotError');

/**
 * A permit of `tryAcquire()` used wrongly: an outcome recorded twice
 * (`code` `alreadyRecorded`), or after the permit was given back with
 * `release()` (`alreadyReleased`). The breaker is unchanged by the call
 * that threw.
 */
export class PermitError extends BrandedError {
    /**
     * @param {'alreadyRecorded' | 'alreadyReleased'} code
     * @param {string} message
     */
    constructor(code, message) {
        super(message);
        /** `alreadyRecorded` or `alreadyReleased`. */
        this.code = code;
    }
}
PermitError.prototype.name = 'PermitError';
brand(PermitError, 'PermitError');

// ---------------------------------------------------------------------------
// Options: JS checks the shape (known keys, numbers, integers); the core
// checks every value against its range, and that a policy's keys are all
// given. The shape is the core's keys': a trip policy's keys are under
// `trip`, a dotted key is a field of an object (`backoff.factor`), any
// other is a plain option.

/** Plain options (`openMs`). */
const PLAIN_KEYS = [];
/** Trip policies: their fields, or null for a policy that is one number. */
const POLICIES = {};
/** Option objects other than `trip` (`backoff`): their fields. */
const GROUPS = {};
for (const key of CONFIG_KEYS) {
    const dot = key.indexOf('.');
    const head = dot < 0 ? key : key.slice(0, dot);
    if (TRIP_POLICIES.includes(head)) {
        if (dot < 0) POLICIES[head] = null;
        else (POLICIES[head] ??= []).push(key.slice(dot + 1));
    } else if (dot < 0) {
        PLAIN_KEYS.push(key);
    } else {
        (GROUPS[head] ??= []).push(key.slice(dot + 1));
    }
}
const FUNCTION_KEYS = ['clock', 'isFailure', 'isResultFailure', 'fallback'];
const ALL_KEYS = ['name', 'trip', ...PLAIN_KEYS, ...Object.keys(GROUPS), ...FUNCTION_KEYS, 'timeoutMs'];

/**
 * The fields of a nested option object, none unknown and at least one
 * given (the core reports any other that is missing).
 */
function fields(path, value, names, visit) {
    if (!isPlainObject(value)) {
        throw optionError(TypeError, path, `${path} must be an object {${names.join(', ')}}, got ${describe(value)}`);
    }
    let given = 0;
    for (const k of Object.keys(value)) {
        if (value[k] === undefined) continue;
        if (!names.includes(k)) {
            throw optionError(TypeError, `${path}.${k}`, unknownKey('option', `${path}.${k}`, names.map((n) => `${path}.${n}`), `${path} takes ${names.join(', ')}`));
        }
        given++;
    }
    if (given === 0) {
        throw optionError(TypeError, path, `${path} must be an object {${names.join(', ')}}, got an empty object`);
    }
    for (const k of names) {
        if (value[k] !== undefined) visit(`${path}.${k}`, value[k]);
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
        bad ??= { path, value };
    };
    const js = {};
    for (const key of Object.keys(options)) {
        const value = options[key];
        if (value === undefined) continue;
        if (PLAIN_KEYS.includes(key)) {
            number(key, value);
        } else if (Object.hasOwn(GROUPS, key)) {
            fields(key, value, GROUPS[key], number);
        } else if (key === 'trip') {
            const names = Object.keys(POLICIES);
            const given = isPlainObject(value) ? Object.keys(value).filter((k) => value[k] !== undefined) : [];
            if (given.length === 0) {
                throw optionError(TypeError, 'trip', `trip must name one policy: {${names.join(' | ')}: ...}, got ${describe(value)}`);
            }
            for (const policy of given) {
                if (!Object.hasOwn(POLICIES, policy)) {
                    throw optionError(TypeError, policy, unknownKey('trip policy', policy, names, `the policies are ${names.join(', ')}`));
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
        } else if (key === 'name') {
            js.name = checkName(value);
        } else if (key === 'timeoutMs') {
            // A JS-side option: the core knows nothing of it, only of the
            // longest duration any option may have.
            const max = wasm.maxDurationMs();
            if (!isIntegerIn(value, 1, max)) throw numberError(key, value, 1, max);
            js.timeoutMs = value;
        } else {
            throw optionError(TypeError, key, unknownKey('option', key, ALL_KEYS, `the options are ${ALL_KEYS.join(', ')}`));
        }
    }
    js.trip = options.trip ?? { consecutiveFailures: 5 };
    return { keys, values, bad, js };
}

/** A configuration key's index, as the wasm module takes it. */
function keyIndex(path) {
    return CONFIG_KEYS.indexOf(path);
}

/** The value of a configuration error that is the core's kind of range. */
const OUT_OF_RANGE = CONFIG_ERRORS.findIndex((k) => k.name === 'outOfRange');

/**
 * The error for the core's refusal of a configuration: the core's message
 * (its ConfigError's Display, by the template generated from it), made of
 * the parts the wasm module gives as numbers: key index, kind, value, min,
 * max, `of` key index, divisor.
 */
function configErrorFromCore(bad) {
    const [k, kind, value, min, max, of, divisor] = Array.from({ length: CONFIG_ERROR_LEN }, (_, i) => wasm.configError(i));
    const key = k < 0 ? CONFLICT_KEY : CONFIG_KEYS[k];
    const { range, message } = CONFIG_ERRORS[kind] ?? CONFIG_ERRORS[CONFIG_ERRORS.length - 1];
    if (bad !== undefined && key === bad.path) {
        // The value was not a safe integer (the core was given PROBE, below
        // every range, instead): the class rule and the core's wording, with
        // the range the core gave.
        if (kind === OUT_OF_RANGE) return numberError(key, bad.value, min, max);
        if (typeof bad.value !== 'number') return optionError(TypeError, key, `${key} must be an integer, got ${describe(bad.value)}`);
        return optionError(RangeError, key, `${key} = ${bad.value} is not an integer`);
    }
    // The core's words, as they are.
    const Ctor = range ? RangeError : TypeError;
    return keyed(new Ctor(message(key, value, min, max, CONFIG_KEYS[of], divisor)), key);
}

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
        this.fault ??= new TypeError(`clock() must return a number of milliseconds >= 0, got ${describe(t)}`);
        return NaN;
    }

    onTransition(from, to, epoch, cause) {
        if (this.listeners.size === 0) return;
        const change = Object.freeze({ from: STATES[from], to: STATES[to], epoch, cause: CAUSES[cause] });
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

/** Frees a breaker's wasm memory once its Inner is collected. */
const freed = typeof FinalizationRegistry === 'function' ? new FinalizationRegistry((handle) => wasm.free(handle)) : undefined;

/**
 * A breaker in wasm, by its handle (its address: see `mod handle` in
 * src/lib.rs). The handle never leaves this object, and is freed only once
 * this object is collected; whatever calls into the breaker (the
 * CircuitBreaker, its permits, their finalizers) holds this object.
 */
class Inner {
    #h;

    constructor(handle) {
        this.#h = handle;
        freed?.register(this, handle);
    }

    acquire() {
        return wasm.acquire(this.#h);
    }
    started_ms() {
        return wasm.startedMs(this.#h);
    }
    number() {
        return wasm.number(this.#h);
    }
    record(token, started, outcome) {
        wasm.record(this.#h, token, started, outcome);
    }
    release(token, started) {
        wasm.release(this.#h, token, started);
    }
    state() {
        return wasm.state(this.#h);
    }
    load_metrics() {
        wasm.loadMetrics(this.#h);
    }
    metric(i) {
        return wasm.metric(this.#h, i);
    }
    isolate() {
        wasm.isolate(this.#h);
    }
    reset() {
        wasm.reset(this.#h);
    }
    take_snapshot() {
        wasm.takeSnapshot(this.#h);
    }
    snapshot_word(i) {
        return wasm.snapshotWord(this.#h, i);
    }
    set_snapshot_word(i, word) {
        wasm.setSnapshotWord(this.#h, i, word);
    }
    restore(length, sameClock) {
        return wasm.restore(this.#h, length, sameClock);
    }
    adopt(state, remainingMs, k) {
        return wasm.adopt(this.#h, state, remainingMs, k);
    }
    invalid_field_byte(i) {
        return wasm.invalidFieldByte(this.#h, i);
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

/** The keys of `adopt`'s fleet state. */
const ADOPT_KEYS = ['state', 'remainingMs', 'k'];

/** The options `execute` takes. */
const EXECUTE_KEYS = ['signal'];

/**
 * The error for `execute`'s options, or undefined if they are good: an
 * object of known keys (an unknown one is refused, with a guess at the key
 * meant, and a hint when it is a breaker's option), `signal` an AbortSignal.
 */
function checkExecuteOptions(options) {
    if (isAbortSignal(options)) {
        return optionError(TypeError, '', 'execute takes its signal in an object: execute(fn, { signal }), got an AbortSignal');
    }
    if (!isPlainObject(options)) {
        return optionError(TypeError, '', `execute's options must be an object { signal }, got ${describe(options)}`);
    }
    for (const key of Object.keys(options)) {
        if (EXECUTE_KEYS.includes(key)) continue;
        // A breaker's option (or a near miss of one) given per call: say where it goes.
        const theirs = didYouMean(key, EXECUTE_KEYS) === undefined ? didYouMean(key, ALL_KEYS) : undefined;
        const breakerOption = theirs === undefined ? '' : ` (${theirs} is an option of the breaker: new CircuitBreaker({ ${theirs} }))`;
        return optionError(TypeError, key, unknownKey('execute option', key, EXECUTE_KEYS, `execute takes ${EXECUTE_KEYS.join(', ')}${breakerOption}`));
    }
    const { signal } = options;
    if (signal !== undefined && !isAbortSignal(signal)) {
        return optionError(TypeError, 'signal', `signal must be an AbortSignal, got ${describe(signal)}`);
    }
    return undefined;
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

/** The start time given back with an untimed token (the core ignores it). */
const UNTIMED = 0;

/**
 * The start time to give back with a token: the core's, for a token the core
 * times; for any other the core needs none (and ignores what it is given).
 */
function startedOf(inner, token) {
    return token & TIMED_PERMIT ? inner.started_ms() : UNTIMED;
}

/** How a permit ended when it was given back without an outcome. */
const RELEASED = -1;
const OUTCOME_NAMES = { [SUCCESS]: 'success', [FAILURE]: 'failure', [IGNORE]: 'ignore' };

/** The PermitError for recording `outcome` on a permit that ended with `done`. */
function permitMisuse(done, outcome) {
    const call = `${OUTCOME_NAMES[outcome]}()`;
    if (done === RELEASED) {
        return new PermitError('alreadyReleased', `permit.${call} after release(): the permit was given back without an outcome; take a new one with tryAcquire()`);
    }
    return new PermitError('alreadyRecorded', `permit.${call} after ${OUTCOME_NAMES[done]}(): a permit records one outcome; take a new one with tryAcquire()`);
}

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
    /** How the permit ended: an outcome code, or RELEASED; undefined while it is held. */
    #done = undefined;

    constructor(inner, hooks, token, started) {
        this.#inner = inner;
        this.#hooks = hooks;
        this.#token = token;
        this.#started = started;
        if (token & HALF_OPEN_PERMIT) lost?.register(this, [inner, token, started], this);
    }

    #finish(outcome) {
        if (this.#done !== undefined) throw permitMisuse(this.#done, outcome);
        this.#done = outcome;
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
        if (this.#done !== undefined) return;
        this.#done = RELEASED;
        if (this.#token & HALF_OPEN_PERMIT) lost?.unregister(this);
        this.#inner.release(this.#token, this.#started);
        this.#hooks.check();
    }
}
if (typeof Symbol.dispose === 'symbol') Permit.prototype[Symbol.dispose] = Permit.prototype.release;

// ---------------------------------------------------------------------------
// The breaker

let nextId = 1;
/** A breaker's trip policy (for the registry's health report). */
let tripOf;

/**
 * A circuit breaker. See index.d.ts for the documented API.
 */
export class CircuitBreaker extends EventTarget {
    /** True for a CircuitBreaker of any copy of the package (see the brand of the errors). */
    static [Symbol.hasInstance](value) {
        return isInstance(this, value);
    }

    #inner;
    #name;
    #trip;
    /** Whether an event listener was ever added: per-call events are made only then. */
    #events = false;
    #hooks;
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
        super();
        const id = nextId++;
        for (let i = 0; i < keys.length; i++) wasm.configInput(i, keys[i], values[i]);
        const handle = wasm.create(keys.length, id, js.clock !== undefined);
        if (handle === 0) throw configErrorFromCore(bad);
        this.#inner = new Inner(handle);
        this.#hooks = new Hooks(js.clock);
        registerHooks(id, this, this.#hooks);
        this.#timeoutMs = js.timeoutMs ?? 0;
        this.#isFailure = js.isFailure;
        this.#isResultFailure = js.isResultFailure;
        this.#fallback = js.fallback;
        this.#plain = this.#timeoutMs === 0 && js.isFailure === undefined && js.isResultFailure === undefined;
        this.#name = js.name;
        this.#trip = js.trip;
    }

    static {
        tripOf = (breaker) => breaker.#trip;
    }

    /** The `name` option (`undefined` without one): on every event. */
    get name() {
        return this.#name;
    }

    /** Listens to the per-call events; see index.d.ts. */
    addEventListener(type, listener, options) {
        this.#events = true;
        super.addEventListener(type, listener, options);
    }

    #emit(type, error) {
        this.dispatchEvent(new CircuitBreakerEvent(type, this.#name, error));
    }

    /**
     * `healthy`, `degraded` or `critical`, as the core's Health: open or
     * isolated is critical; half-open, or closed at least half way to
     * tripping, is degraded.
     */
    health() {
        return healthOf(this.#trip, this.metrics());
    }

    /**
     * A breaker with `options`, in the state `snapshot` recorded. The
     * snapshot's times are kept (the downtime counts) when the clock is the
     * same one as when it was taken: by default with `Date.now`, or when
     * `sameClock: true` says so; else they are re-based (the downtime counts
     * as zero).
     */
    static restore(snapshot, options) {
        let sameClock;
        if (isPlainObject(options) && Object.hasOwn(options, 'sameClock')) {
            ({ sameClock, ...options } = options);
            if (sameClock !== undefined && typeof sameClock !== 'boolean') {
                throw optionError(TypeError, 'sameClock', `sameClock must be a boolean, got ${describe(sameClock)}`);
            }
        }
        let breaker;
        try {
            breaker = new CircuitBreaker(options);
        } catch (error) {
            // A near miss of restore's own option.
            if (error instanceof TypeError && /^unknown option /.test(error.message) && didYouMean(error.key, ['sameClock']) !== undefined) {
                throw optionError(TypeError, error.key, unknownKey('option', error.key, ['sameClock'], `restore takes sameClock and the breaker's options`));
            }
            throw error;
        }
        if (snapshot === undefined || snapshot === null) return breaker;
        let bytes;
        if (ArrayBuffer.isView(snapshot)) {
            bytes = new Uint8Array(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
        } else if (/^\[object (Shared)?ArrayBuffer\]$/.test(Object.prototype.toString.call(snapshot))) {
            bytes = new Uint8Array(snapshot);
        } else {
            throw new TypeError(
                `restore(snapshot) takes the bytes of snapshot() (a Uint8Array, an ArrayBuffer or a view), got ${describe(snapshot)}`,
            );
        }
        // Date.now survives restarts; a user's clock may not (performance.now,
        // a test clock), unless the caller says it does.
        sameClock ??= options?.clock === undefined;
        const inner = breaker.#inner;
        if (bytes.length <= SNAPSHOT_LEN) {
            // The core reads the first bytes.length bytes (an older format
            // is shorter): pass them padded to whole words.
            const padded = new Uint8Array(SNAPSHOT_LEN);
            padded.set(bytes);
            const view = new DataView(padded.buffer);
            for (let i = 0; i < SNAPSHOT_LEN / 4; i++) inner.set_snapshot_word(i, view.getUint32(4 * i, true));
        }
        const refusal = SNAPSHOT_ERRORS[inner.restore(bytes.length, sameClock)];
        breaker.#hooks.check();
        if (refusal !== undefined) {
            // What the core's message shows, from where the facts say.
            let detail;
            if (refusal.detail === 'length') detail = bytes.length;
            else if (refusal.detail === 'number') detail = inner.number();
            else if (refusal.detail === 'field') {
                detail = '';
                for (let i = 0, b; (b = inner.invalid_field_byte(i)) !== 0; i++) detail += String.fromCharCode(b);
            }
            throw new SnapshotError(refusal.reason, refusal.message(detail));
        }
        return breaker;
    }

    /** Runs `fn` if the breaker allows it; see index.d.ts. */
    execute(fn, options) {
        let signal;
        if (options !== undefined) {
            const refused = checkExecuteOptions(options);
            if (refused !== undefined) return Promise.reject(refused);
            signal = options.signal;
        }
        if (typeof fn !== 'function') {
            return Promise.reject(new TypeError(`execute(fn) takes a function, got ${describe(fn)}`));
        }
        if (signal?.aborted) return Promise.reject(signal.reason);
        const inner = this.#inner;
        const token = inner.acquire();
        const hooks = this.#hooks;
        if (hooks.fault !== undefined) {
            try {
                if (token >= 0) inner.release(token, startedOf(inner, token));
                hooks.check();
            } catch (error) {
                return Promise.reject(error);
            }
        }
        if (token < 0) return this.#rejected(token);
        const started = startedOf(inner, token);
        if (this.#plain && signal === undefined && !this.#events) return this.#run(fn, token, started);
        return this.#runGuarded(fn, token, started, signal);
    }

    #rejected(code) {
        const reason = rejectReason(code);
        let error;
        if (reason === 'isolated') {
            error = new IsolatedCircuitError();
        } else {
            // The core's retry hint, if it gave one (-1: none).
            const ms = this.#inner.number();
            error = new BrokenCircuitError(reason, ms < 0 ? undefined : ms);
        }
        const fallback = this.#fallback;
        if (this.#events) this.#emit('reject', error);
        if (fallback === undefined) return Promise.reject(error);
        try {
            const value = fallback(error);
            if (this.#events) this.#emit('fallback', error);
            return Promise.resolve(value);
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
        if (!(token & (HALF_OPEN_PERMIT | TIMED_PERMIT))) {
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
            inner.record(token, UNTIMED, SUCCESS);
            hooks.reportFault();
        };
        this.#cachedErr = () => {
            inner.record(token, UNTIMED, FAILURE);
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
        const emit = this.#events ? (type, error) => this.#emit(type, error) : () => {};
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
                        emit('failure', classifierError);
                        reject(classifierError);
                        return;
                    }
                }
                record(failed ? FAILURE : SUCCESS);
                emit(failed ? 'failure' : 'success', undefined);
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
                        emit('failure', classifierError);
                        reject(classifierError);
                        return;
                    }
                }
                record(failed ? FAILURE : IGNORE);
                if (failed) emit('failure', error);
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
                    emit('timeout', error);
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
            inner.release(token, startedOf(inner, token));
        }
        hooks.check();
        if (token < 0) return undefined;
        return new Permit(inner, hooks, token, startedOf(inner, token));
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
        // By the names and order the wasm module gives: NaN is absent, and a
        // dotted name a field of an object (absent when its values are).
        const m = {};
        for (let i = 0; i < METRICS.length; i++) {
            const v = inner.metric(i);
            const name = METRICS[i];
            const dot = name.indexOf('.');
            if (dot < 0) {
                m[name] = Number.isNaN(v) ? undefined : v;
            } else {
                const group = name.slice(0, dot);
                if (Number.isNaN(v)) m[group] = undefined;
                else (m[group] ??= {})[name.slice(dot + 1)] = v;
            }
        }
        m.state = STATES[m.state];
        return m;
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

    /**
     * Applies a fleet's shared state: `{ state: 'open', remainingMs, k }`,
     * `{ state: 'closed' }` or `{ state: 'isolated' }`; see index.d.ts.
     */
    adopt(fleet) {
        const shape = `adopt takes { state: 'open', remainingMs, k } or { state: 'closed' | 'isolated' }`;
        if (!isPlainObject(fleet)) throw optionError(TypeError, '', `${shape}, got ${describe(fleet)}`);
        const unknown = unknownKeyError(fleet, ADOPT_KEYS, 'adopt key', `${shape}`);
        if (unknown !== undefined) throw unknown;
        const { state, remainingMs, k = 0 } = fleet;
        const code = FLEET_STATES.indexOf(state);
        if (code < 0) {
            // Missing or not a string: a TypeError; a string that is no state: a RangeError.
            if (state === undefined) throw optionError(TypeError, 'state', `state is missing: ${shape}`);
            const Ctor = typeof state === 'string' ? RangeError : TypeError;
            throw optionError(Ctor, 'state', `state must be one of ${FLEET_STATES.join(', ')}, got ${describe(state)}; ${meant(state, FLEET_STATES)}${shape}`);
        }
        if (code === FLEET_OPEN) {
            if (remainingMs === undefined) throw optionError(TypeError, 'remainingMs', `remainingMs is missing: state 'open' needs it`);
            // The core checks an integer's range (below); anything else is refused here, in its wording.
            if (!Number.isInteger(remainingMs)) throw numberError('remainingMs', remainingMs, 0, wasm.maxDurationMs());
            if (!isIntegerIn(k, 0, 0xffff_ffff)) throw numberError('k', k, 0, 0xffff_ffff);
        } else if (remainingMs !== undefined || fleet.k !== undefined) {
            throw optionError(TypeError, remainingMs !== undefined ? 'remainingMs' : 'k', `remainingMs and k only go with state 'open', not ${describe(state)}`);
        }
        // The core checks the remaining time (FleetState::open): its range, in
        // the wording of every number option's (KEY = VALUE is out of range).
        const adopted = this.#inner.adopt(code, remainingMs ?? 0, k);
        this.#hooks.check();
        if (!adopted) throw numberError('remainingMs', remainingMs, 0, wasm.maxDurationMs());
    }

    /** Calls `listener` at every change of state; returns a function that unsubscribes it. */
    onStateChange(listener) {
        if (typeof listener !== 'function') {
            throw new TypeError(`onStateChange(listener) takes a function, got ${describe(listener)}`);
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

brand(CircuitBreaker, 'CircuitBreaker');

// ---------------------------------------------------------------------------
// Presets: the core's named configurations (halfopen::presets), as options.

function deepFreeze(value) {
    if (typeof value === 'object' && value !== null) {
        for (const v of Object.values(value)) deepFreeze(v);
        Object.freeze(value);
    }
    return value;
}

/** Options for common downstreams, from the core's presets; see index.d.ts. */
export const presets = deepFreeze(PRESETS);

// ---------------------------------------------------------------------------
// Per-call events

/**
 * One call's event (`success`, `failure`, `reject`, `timeout`, `fallback`),
 * with the breaker's name and, but for `success`, the error.
 */
export class CircuitBreakerEvent extends Event {
    constructor(type, name, error) {
        super(type);
        /** The breaker's `name` option. */
        this.name = name;
        /** The call's error, the rejection or the timeout (`undefined` for `success`). */
        this.error = error;
    }
}

// ---------------------------------------------------------------------------
// Health: the core's Health (core/src/metrics.rs), from the metrics.

const HEALTH = ['healthy', 'degraded', 'critical'];

function windowHalfway(failures, recorded, percent, minimum, count) {
    return failures > 0 && ((percent !== 0 && recorded >= minimum && failures * 200 >= percent * recorded) || (count !== 0 && failures * 2 >= count));
}

function healthOf(trip, m) {
    if (m.state === 'open' || m.state === 'isolated') return 'critical';
    if (m.state === 'halfOpen') return 'degraded';
    let halfway;
    if (trip.consecutiveFailures !== undefined) {
        halfway = m.failureRun > 0 && m.failureRun * 2 >= trip.consecutiveFailures;
    } else {
        const p = trip.failureRate ?? trip.timeWindow;
        halfway = m.window !== undefined && windowHalfway(m.window.failures, m.window.calls, p.percent ?? 0, p.minimumCalls ?? 1, p.failures ?? 0);
    }
    return halfway ? 'degraded' : 'healthy';
}

// ---------------------------------------------------------------------------
// Registry: named breakers, and their metrics in the Prometheus text format.

/** The options of a breaker: a preset's name, or options (a preset spread into them). */
function resolveOptions(options, where) {
    if (typeof options !== 'string') return options;
    if (!Object.hasOwn(PRESETS, options)) {
        // A string, of the right type, that names no preset: a wrong value.
        const names = Object.keys(PRESETS);
        throw optionError(RangeError, 'preset', `${where}: unknown preset ${JSON.stringify(options)}; ${meant(options, names)}the presets are ${names.join(', ')}`);
    }
    return PRESETS[options];
}

const TOTALS = [
    ['halfopen_successes_total', 'Successes recorded.', 'successes'],
    ['halfopen_failures_total', 'Failures recorded, slow calls included.', 'failures'],
    ['halfopen_slow_calls_total', 'Successes recorded as failures because they were slow.', 'slowCalls'],
    ['halfopen_ignored_total', 'Outcomes recorded as ignored.', 'ignored'],
    ['halfopen_rejected_total', 'Calls the breaker rejected.', 'rejected'],
];

const label = (value) => String(value).replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');

/**
 * Breakers by name: `get(name, options?)` gives the breaker of that name,
 * built on first use. See index.d.ts.
 */
export class Registry {
    /** @type {Map<string, { breaker: CircuitBreaker, clock: () => number, transitions: Map<string, number>, recoveries: number }>} */
    #entries = new Map();
    #defaults;

    /** The content type of {@link Registry#metricsText}. */
    static contentType = 'text/plain; version=0.0.4; charset=utf-8';

    constructor(options) {
        if (options === undefined) options = {};
        if (!isPlainObject(options)) throw optionError(TypeError, '', `Registry options must be an object, got ${describe(options)}`);
        for (const key of Object.keys(options)) {
            if (key !== 'defaults') throw optionError(TypeError, key, unknownKey('Registry option', key, ['defaults'], 'the options are defaults'));
        }
        const defaults = resolveOptions(options.defaults, 'Registry defaults');
        if (defaults !== undefined) {
            if (!isPlainObject(defaults)) throw optionError(TypeError, 'defaults', `Registry defaults must be a preset's name or options, got ${describe(defaults)}`);
            if (defaults.name !== undefined) throw optionError(TypeError, 'defaults.name', 'Registry defaults cannot hold a name: each breaker has its own');
            // Checked now, by building one breaker with them.
            new CircuitBreaker(defaults);
        }
        this.#defaults = defaults;
    }

    /**
     * The breaker named `name`; built with `options` (a preset's name or
     * options; the registry's defaults without) if there is none yet.
     */
    get(name, options) {
        checkName(name);
        const entry = this.#entries.get(name);
        if (entry !== undefined) return entry.breaker;
        let opts = resolveOptions(options, `breaker ${name}`) ?? this.#defaults ?? {};
        if (!isPlainObject(opts)) throw optionError(TypeError, '', `breaker ${name}: options must be a preset's name or an object, got ${describe(opts)}`);
        if (opts.name !== undefined && opts.name !== name) {
            throw optionError(RangeError, 'name', `breaker ${name}: options name ${JSON.stringify(opts.name)} differs from the name it is registered under`);
        }
        const breaker = new CircuitBreaker({ ...opts, name });
        const added = { breaker, clock: opts.clock ?? Date.now, transitions: new Map(), recoveries: 0 };
        breaker.onStateChange(({ from, to }) => {
            const key = `${from}\n${to}`;
            added.transitions.set(key, (added.transitions.get(key) ?? 0) + 1);
            if (from === 'open' && to === 'halfOpen') added.recoveries++;
        });
        this.#entries.set(name, added);
        return breaker;
    }

    /** Whether a breaker of that name is registered. */
    has(name) {
        return this.#entries.has(name);
    }

    /**
     * Removes the breaker of that name (a tenant or host gone): the registry
     * forgets it, its metrics and transitions; its WebAssembly memory is
     * released when nothing else holds the breaker. A later `get(name)`
     * builds a new one. Whether there was one.
     */
    delete(name) {
        return this.#entries.delete(name);
    }

    /** The number of breakers. */
    get size() {
        return this.#entries.size;
    }

    /** The names, in registration order. */
    names() {
        return [...this.#entries.keys()];
    }

    /** `[name, breaker]` pairs, in registration order. */
    *[Symbol.iterator]() {
        for (const [name, { breaker }] of this.#entries) yield [name, breaker];
    }

    /** Every breaker's name, health and metrics, in registration order. */
    report() {
        return [...this.#entries].map(([name, { breaker }]) => {
            const metrics = breaker.metrics();
            return { name, health: healthOf(tripOf(breaker), metrics), metrics };
        });
    }

    /** The worst health of all breakers (`healthy` when empty), or of the one named. */
    health(name) {
        if (name !== undefined) {
            checkName(name);
            const entry = this.#entries.get(name);
            if (entry === undefined) throw optionError(RangeError, 'name', `no breaker named ${JSON.stringify(name)} in this registry`);
            return entry.breaker.health();
        }
        let worst = 0;
        for (const { breaker } of this.#entries.values()) worst = Math.max(worst, HEALTH.indexOf(breaker.health()));
        return HEALTH[worst];
    }

    /**
     * Every breaker's metrics in the Prometheus text exposition format
     * (version 0.0.4), with the names and labels of the Rust crate
     * halfopen-service's collector.
     */
    metricsText() {
        const rows = [...this.#entries].map(([name, e]) => ({ name: label(name), e, m: e.breaker.metrics() }));
        const out = [];
        const family = (metric, type, help) => out.push(`# HELP ${metric} ${help}`, `# TYPE ${metric} ${type}`);
        family('halfopen_state', 'gauge', "The breaker's state: 1 for the current one.");
        for (const { name, m } of rows) {
            for (const s of STATES) out.push(`halfopen_state{name="${name}",state="${s}"} ${s === m.state ? 1 : 0}`);
        }
        for (const [metric, help, key] of TOTALS) {
            family(metric, 'counter', help);
            for (const { name, m } of rows) out.push(`${metric}{name="${name}"} ${m[key]}`);
        }
        family('halfopen_transitions_total', 'counter', 'Transitions, by the state left and the state entered.');
        for (const { name, e } of rows) {
            for (const [key, n] of e.transitions) {
                const [from, to] = key.split('\n');
                out.push(`halfopen_transitions_total{name="${name}",from="${from}",to="${to}"} ${n}`);
            }
        }
        family('halfopen_recovery_attempts_total', 'counter', 'Times trial calls were let through (open to halfOpen).');
        for (const { name, e } of rows) out.push(`halfopen_recovery_attempts_total{name="${name}"} ${e.recoveries}`);
        family('halfopen_retry_after_seconds', 'gauge', 'While open: seconds until a trial call is let through; else 0.');
        for (const { name, e, m } of rows) {
            const ms = m.state === 'open' && m.retryAt !== undefined ? Math.max(0, m.retryAt - e.clock()) : 0;
            out.push(`halfopen_retry_after_seconds{name="${name}"} ${ms / 1000}`);
        }
        return out.join('\n') + '\n';
    }
}
