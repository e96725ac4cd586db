// halfopen/fleet: one breaker for a fleet of instances (Node processes on one
// Redis, Worker isolates on one Durable Object).
//
// Every decision is one of the core's fleet rules (halfopen::fleet), run by
// the fleet's own .wasm (halfopen_fleet_bg.wasm, src in wasm/fleet); this
// file moves records between a store and the local breaker: it reads,
// applies a rule, compare-and-sets, and adopts what the rule left. The record
// text and the configuration text are the Rust crate's, so Rust and Node
// instances share one record.
//
// Nothing runs at module scope: no timer, no random number, no I/O. A
// FleetBreaker starts nothing until its first call (Workers create it in a
// request).
import { CircuitBreaker, BrokenCircuitError, CallTimeoutError, PermitError } from './breaker.js';
import { BrandedError, brand } from './brand.js';
import {
    MAX_NAME_LENGTH,
    checkName,
    describe,
    isPlainObject,
    keyed,
    meant,
    numberError,
    optionError,
    unknownKey,
    unknownKeyError,
} from './option-errors.js';
import { FleetRules, closedRecord, parseRecord } from './halfopen_fleet.js';
import { READ_LUA, WRITE_LUA, COUNT_LUA } from './fleet-lua.js';

// The breaker name's rule (1 to 64 characters of A-Z a-z 0-9 _ - . :, the
// Redis crate's, so both build the same keys) and its errors are the base
// layer's: one check, one wording.
export { MAX_NAME_LENGTH, checkName };

/** Whether `execute`'s options are `{ signal? }` with a signal that looks like one. */
function plainExecuteOptions(options) {
    if (typeof options !== 'object' || options === null || Object.keys(options).some((k) => k !== 'signal')) return false;
    const { signal } = options;
    return signal === undefined || (typeof signal === 'object' && signal !== null && typeof signal.addEventListener === 'function');
}

/** FleetBreaker's own options (the others are the local breaker's). */
const FLEET_BREAKER_KEYS = ['name', 'store', 'syncMs', 'deadlineMs', 'fleet'];
const FLEET_KEYS = ['leaseMs', 'windowMs', 'buckets', 'count'];

// Each error class is branded (brand.js), as the base package's are:
// `instanceof` holds across copies of the package.

/** The fleet refused this instance: its configuration differs from the fleet's. */
export class FleetConfigError extends BrandedError {
    constructor(name, difference) {
        super(`fleet ${name}: this instance's configuration differs from the fleet's (${difference}): it stays a local breaker`);
        this.fleetName = name;
        this.difference = difference;
    }
}
FleetConfigError.prototype.name = 'FleetConfigError';
brand(FleetConfigError, 'FleetConfigError');

/** A store call failed (deadline, connection, a reply the scripts never give). */
export class FleetStoreError extends BrandedError {
    constructor(message, options) {
        super(`fleet store: ${message}`, options);
    }
}
FleetStoreError.prototype.name = 'FleetStoreError';
brand(FleetStoreError, 'FleetStoreError');

// ---------------------------------------------------------------------------
// Records as the fleet .wasm gives them: `GEN|TEXT`.

/** A checked record: its generation, text and fields (parsed by the core). */
function record(gen, text) {
    const f = parseRecord(gen, text).split('|');
    return {
        gen: Number(f[0]),
        genText: f[0],
        text,
        mode: f[1],
        k: Number(f[2]),
        openUntil: Number(f[3]),
        leases: Number(f[4]),
        leaseUntil: Number(f[5]),
        successes: Number(f[6]),
        openedGen: Number(f[7]),
    };
}

function fromOut(out) {
    const bar = out.indexOf('|');
    return record(out.slice(0, bar), out.slice(bar + 1));
}

/**
 * Applies one event to the record in `store`, by the core's rules, and
 * returns the record as it stands, the store's time and whether this call
 * wrote. The same function runs in a Node process (over Redis) and in the
 * Durable Object (over its storage).
 *
 * Events: `{ type: 'trip' | 'lease' | 'probe' | 'isolate' | 'reset' | 'sync'
 * | 'first', seenGen, local, period?, success?, successes?, failures?,
 * pendingTrip? }`, `local` the instance's recorded state (for replacing a
 * garbage record with what it knows).
 */
export async function decide(rules, configText, store, name, ev) {
    const state = { configMissing: false };
    const checked = async (read) => {
        state.configMissing = read.config == null;
        if (read.config != null && read.config !== configText) {
            throw new FleetConfigError(name, rules.difference(read.config) ?? 'the configuration text');
        }
        if (read.record == null && read.gen === '') return { rec: fromOut(closedRecord(ev.seenGen)), read };
        let why;
        if (read.record == null) {
            why = `fleet record has gen ${JSON.stringify(read.gen)} and no record`;
        } else {
            try {
                return { rec: record(read.gen, read.record), read };
            } catch (e) {
                why = e.message;
            }
        }
        // Garbage: replaced by what this instance knows, under a generation
        // past any it saw.
        const rec = fromOut(rules.rebuild(ev.seenGen, read.gen, ev.local, read.nowMs));
        const w = await write(read.gen, rec);
        state.garbage = why;
        if (w.written) return { rec, read: { ...read, nowMs: w.nowMs } };
        if (w.record == null) throw new FleetStoreError(`the record was replaced twice: ${why}`);
        return { rec: record(w.gen, w.record), read: w };
    };
    const write = (expected, rec) => store.write(name, expected, rec.genText, rec.text, configText, rec.mode === 'closed');
    const transact = async (read, rule) => {
        for (let i = 0; i < 8; i++) {
            const c = await checked(read);
            const out = rule(c.rec, c.read.nowMs);
            if (out === undefined) return { rec: c.rec, nowMs: c.read.nowMs, wrote: false };
            const next = fromOut(out);
            const w = await write(c.read.gen, next);
            if (w.written) return { rec: next, nowMs: w.nowMs, wrote: true };
            read = w;
        }
        throw new FleetStoreError('the record changed under eight writes in a row');
    };
    const g = (r) => [r.genText, r.text];
    let result;
    switch (ev.type) {
        case 'trip':
            result = await transact(await store.read(name), (r, now) => rules.trip(...g(r), ev.seenGen, now));
            break;
        case 'lease':
            result = await transact(await store.read(name), (r, now) => {
                const l = rules.lease(...g(r), now);
                return l === 'denied' ? undefined : l.slice(l.indexOf('|') + 1);
            });
            break;
        case 'probe':
            result = await transact(await store.read(name), (r, now) => rules.probe(...g(r), ev.period, ev.success, now));
            break;
        case 'isolate':
            result = await transact(await store.read(name), (r) => rules.isolate(...g(r)));
            break;
        case 'reset':
            result = await transact(await store.read(name), (r) => rules.reset(...g(r)));
            break;
        case 'sync':
        case 'first': {
            const bucketMs = rules.bucketMs();
            let read;
            let sums;
            if (bucketMs > 0) {
                read = await store.count(name, bucketMs, rules.buckets(), ev.successes ?? 0, ev.failures ?? 0);
                const [s, f] = rules.sum(read.nowMs, read.counts.map(([field, n]) => `${field}=${n}`).join(';')).split('|').map(Number);
                sums = { s, f };
            } else {
                read = await store.read(name);
            }
            // A trip made while the store was away is published if the
            // fleet has not moved on (the core's sync rule decides).
            const missed = ev.pendingTrip && ev.local !== 'closed' && ev.local !== 'isolated' ? ev.seenGen : undefined;
            result = await transact(read, (r, now) => rules.sync(...g(r), sums?.s, sums?.f, missed, now));
            if (state.configMissing && !result.wrote) {
                // The first instance of a fleet writes the record, so that the
                // configuration every later one is checked against is there;
                // and so does the first to find it gone (a store that lost
                // its data), at a generation past the last one it saw.
                result = await transact(await store.read(name), (r) => rules.touch(...g(r)));
            }
            break;
        }
        default:
            throw new TypeError(`unknown fleet event ${describe(ev.type)}`);
    }
    return { gen: result.rec.genText, record: result.rec.text, nowMs: result.nowMs, wrote: result.wrote, garbage: state.garbage };
}

// ---------------------------------------------------------------------------
// Configuration: the local breaker's options as the core's key=value pairs.

const LOCAL_ONLY = new Set(['clock', 'isFailure', 'isResultFailure', 'fallback', 'timeoutMs']);

function configPairs(options) {
    const pairs = [];
    for (const [key, value] of Object.entries(options)) {
        if (value === undefined || LOCAL_ONLY.has(key)) continue;
        if (key === 'trip') {
            for (const [policy, v] of Object.entries(value)) {
                if (v === undefined) continue;
                if (typeof v === 'object' && v !== null) {
                    for (const [f, n] of Object.entries(v)) if (n !== undefined) pairs.push(`${policy}.${f}=${n}`);
                } else pairs.push(`${policy}=${v}`);
            }
        } else if (typeof value === 'object' && value !== null) {
            for (const [f, n] of Object.entries(value)) if (n !== undefined) pairs.push(`${key}.${f}=${n}`);
        } else pairs.push(`${key}=${value}`);
    }
    return pairs.join(';');
}

/** The rules for a configuration, as the fleet .wasm builds them. */
export function fleetRules(pairs, leaseMs, windowMs, buckets) {
    try {
        return new FleetRules(pairs, leaseMs, windowMs, buckets);
    } catch (e) {
        // The core's words, as the breaker's range errors.
        const m = /^(fleet\.\w+)/.exec(e.message);
        throw keyed(new RangeError(e.message), m ? m[1] : 'fleet');
    }
}

/**
 * The fleet's lease and counting window: `leaseMs` defaults to
 * `halfOpenMaxWaitMs` if set, else 10 000 (as the Rust crate's); `count`
 * counts a timeWindow policy in its own window (windowMs -1 for the core).
 */
function fleetShape(f, breakerOptions) {
    const wait = breakerOptions.halfOpenMaxWaitMs;
    return {
        leaseMs: f.leaseMs ?? (typeof wait === 'number' && wait > 0 ? wait : 10_000),
        windowMs: f.windowMs !== undefined ? f.windowMs : f.count ? -1 : 0,
        buckets: f.buckets ?? 0,
    };
}

function integerOption(options, key, min, max, fallback) {
    const v = options[key];
    if (v === undefined) return fallback;
    // The breaker's rule and wording: not a number is a TypeError; a number
    // out of range or not an integer a RangeError.
    if (!Number.isInteger(v) || v < min || v > max) throw numberError(key, v, min, max);
    return v;
}

const MAX_DURATION_MS = 2 ** 31 - 1;

// ---------------------------------------------------------------------------
// Transports: where `decide` runs.

/** Runs the rules here, over a store that reads, counts and compare-and-sets (Redis). */
class LocalTransport {
    constructor(store, rules, configText, name, deadlineMs) {
        // Every store call under the deadline.
        const timed = (method) => (...args) => withDeadline(store[method](...args), deadlineMs, `store ${method}`);
        this.store = { read: timed('read'), write: timed('write'), count: timed('count') };
        this.rules = rules;
        this.configText = configText;
        this.name = name;
    }
    async apply(events) {
        const out = [];
        for (const ev of events) out.push(await decide(this.rules, this.configText, this.store, this.name, ev));
        return out;
    }
}

function withDeadline(promise, ms, what) {
    let timer;
    const deadline = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new FleetStoreError(`${what} took longer than its ${ms} ms deadline`)), ms);
    });
    return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------
// The fleet breaker.

/**
 * A local CircuitBreaker kept in step with a fleet record through a store.
 * See fleet.d.ts for the documented API.
 */
export class FleetBreaker {
    #local;
    #name;
    #rules;
    #configText;
    #pairs;
    #leaseMs;
    #windowMs;
    #buckets;
    #store;
    #transport;
    #syncMs;
    #deadlineMs;
    #now;
    #fallback;
    #isFailure;
    #isResultFailure;
    #timeoutMs;
    /** No timer drives the syncs: calls do. */
    #pollOnCalls = true;
    /** The local breaker's recorded state, from its transitions. */
    #recorded = 'closed';
    #attached = false;
    #refused = undefined;
    #seenGen = 0;
    #leasePeriod = 0;
    #leases = 0;
    #leaseWanted = false;
    #pendingTrip = false;
    #queue = [];
    #pump = undefined;
    #lastSync = -Infinity;
    #retryAt = 0;
    #backoff;
    #flushedS = 0;
    #flushedF = 0;
    #started = false;
    #ready;
    #readyResolve;
    #readyReject;
    #listeners = new Set();
    #timer = undefined;
    #unsubscribe = undefined;
    #stats = { storeErrors: 0, syncs: 0, roundTrips: 0, pushes: 0, lastError: undefined };

    constructor(options) {
        if (!isPlainObject(options)) {
            throw optionError(TypeError, '', `FleetBreaker takes an options object, got ${describe(options)}`);
        }
        const { name, store, syncMs, deadlineMs, fleet, ...breakerOptions } = options;
        this.#name = checkName(name);
        if (typeof store !== 'object' || store === null || typeof store.read !== 'function' && typeof store.apply !== 'function') {
            throw optionError(TypeError, 'store', `store: FleetBreaker needs a store (RedisFleetStore or DurableObjectFleetStore), got ${describe(store)}`);
        }
        this.#syncMs = integerOption(options, 'syncMs', 10, MAX_DURATION_MS, 1_000);
        this.#deadlineMs = integerOption(options, 'deadlineMs', 1, 60_000, 250);
        const f = fleet === undefined ? {} : fleet;
        if (!isPlainObject(f)) throw optionError(TypeError, 'fleet', `fleet must be an object {${FLEET_KEYS.join(', ')}}, got ${describe(fleet)}`);
        const unknown = unknownKeyError(f, FLEET_KEYS, 'option', `fleet takes ${FLEET_KEYS.join(', ')}`, 'fleet.');
        if (unknown !== undefined) throw unknown;
        // The local breaker checks every breaker option, with the core's
        // words; an unknown key may be a near miss of one of FleetBreaker's.
        try {
            this.#local = new CircuitBreaker(breakerOptions);
        } catch (e) {
            if (e instanceof TypeError && /^unknown option /.test(e.message) && !/did you mean/.test(e.message) && meant(e.key, FLEET_BREAKER_KEYS) !== '') {
                throw optionError(TypeError, e.key, unknownKey('option', e.key, FLEET_BREAKER_KEYS, `FleetBreaker takes ${FLEET_BREAKER_KEYS.join(', ')} and the breaker's options`));
            }
            throw e;
        }
        // The ranges of the core's fleet rules (FleetRulesError), checked
        // here too so that every value gets the breaker's rule and wording
        // (and a windowMs of 0 or below is refused, not taken for none).
        for (const [k, max] of [['leaseMs', MAX_DURATION_MS], ['windowMs', MAX_DURATION_MS], ['buckets', 64]]) {
            const v = f[k];
            if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= max)) throw numberError(`fleet.${k}`, v, 1, max);
        }
        if (f.count !== undefined && typeof f.count !== 'boolean') {
            throw optionError(TypeError, 'fleet.count', `fleet.count must be a boolean, got ${describe(f.count)}`);
        }
        if ((f.windowMs === undefined) !== (f.buckets === undefined)) {
            const k = f.windowMs === undefined ? 'fleet.windowMs' : 'fleet.buckets';
            throw optionError(TypeError, k, `fleet.windowMs and fleet.buckets go together: ${k} is missing`);
        }
        ({ leaseMs: this.#leaseMs, windowMs: this.#windowMs, buckets: this.#buckets } = fleetShape(f, breakerOptions));
        this.#pairs = configPairs(breakerOptions);
        this.#rules = fleetRules(this.#pairs, this.#leaseMs, this.#windowMs, this.#buckets);
        this.#configText = this.#rules.configText();
        this.#store = store;
        this.#transport =
            typeof store.apply === 'function' ? store : new LocalTransport(store, this.#rules, this.#configText, this.#name, this.#deadlineMs);
        this.#now = breakerOptions.clock ?? Date.now;
        this.#fallback = breakerOptions.fallback;
        this.#isFailure = breakerOptions.isFailure;
        this.#isResultFailure = breakerOptions.isResultFailure;
        this.#timeoutMs = breakerOptions.timeoutMs ?? 0;
        this.#backoff = this.#syncMs;
        this.#ready = new Promise((resolve, reject) => {
            this.#readyResolve = resolve;
            this.#readyReject = reject;
        });
        // A refusal is also in metrics() and onFleetChange: never an unhandled rejection.
        this.#ready.catch(() => {});
        this.#local.onStateChange((c) => this.#onTransition(c));
    }

    /** The breaker name. */
    get name() {
        return this.#name;
    }

    /** The local breaker (state, metrics, snapshot). */
    get local() {
        return this.#local;
    }

    /** The configuration text the fleet's instances share. */
    get configText() {
        return this.#configText;
    }

    /** The local state as of now. */
    get state() {
        return this.#local.state;
    }

    #start() {
        this.#started = true;
        this.#enqueue({ type: 'first' });
        if (this.#store.timers === true && typeof setInterval === 'function') {
            const t = setInterval(() => this.#maybeSync(true), this.#syncMs);
            t.unref?.();
            this.#timer = t;
            this.#pollOnCalls = false;
        }
        if (typeof this.#store.subscribe === 'function') {
            try {
                const off = this.#store.subscribe(this.#name, (gen) => {
                    this.#stats.pushes++;
                    if (Number(gen) !== this.#seenGen) this.#enqueue({ type: 'sync' });
                });
                Promise.resolve(off).then(
                    (u) => (this.#unsubscribe = u),
                    (e) => this.#note(e),
                );
            } catch (e) {
                this.#note(e);
            }
        }
    }

    /** Resolves after the first exchange with the store; rejects with a FleetConfigError if the fleet refused this instance. */
    ready() {
        if (!this.#started) this.#start();
        return this.#ready;
    }

    #onTransition(c) {
        this.#recorded = c.to;
        if (c.cause === 'fleet') return;
        if (c.from === 'closed' && c.to === 'open' && c.cause === 'trip') this.#enqueue({ type: 'trip' });
        else if (c.from === 'halfOpen' && c.to === 'open' && c.cause === 'halfOpenMaxWait' && this.#leasePeriod !== 0) {
            this.#enqueue({ type: 'probe', period: this.#leasePeriod, success: false });
        }
    }

    #leasedProbes() {
        return this.#attached && this.#refused === undefined;
    }

    /**
     * Without a timer (Workers: none may outlive a request), a call starts the
     * sync when `syncMs` has passed. With one (Node), calls read no clock.
     */
    #poll() {
        if (!this.#started) this.#start();
        else if (this.#now() - this.#lastSync >= this.#syncMs) this.#maybeSync(false);
    }

    /** Starts a sync if `syncMs` has passed since the last one (never awaited). */
    #maybeSync(timer) {
        const now = this.#now();
        if (timer) {
            // The timer's period is syncMs; an exchange in flight is as good as a sync.
            if (this.#pump !== undefined) return;
        } else if (now - this.#lastSync < this.#syncMs) return;
        this.#lastSync = now;
        this.#enqueue({ type: 'sync', periodic: true });
    }

    /** Runs `fn` if the fleet allows it; see fleet.d.ts. The store is never awaited here. */
    execute(fn, options) {
        // Options the local breaker refuses (an unknown key, a signal that is
        // not one): it rejects before it acquires anything, in its words.
        if (options !== undefined && !plainExecuteOptions(options)) return this.#local.execute(fn, options);
        if (this.#pollOnCalls) this.#poll();
        else if (!this.#started) this.#start();
        if (this.#recorded === 'closed' || !this.#leasedProbes()) return this.#local.execute(fn, options);
        return this.#executeSlow(fn, options);
    }

    #executeSlow(fn, options) {
        if (this.#local.state !== 'halfOpen') return this.#local.execute(fn, options);
        const period = this.#takeLease();
        if (period === undefined) return this.#rejectNoLease();
        const permit = this.#local.tryAcquire();
        if (permit === undefined) {
            this.#giveBack(period);
            return this.#local.execute(fn, options);
        }
        return this.#runProbe(fn, options, permit, period);
    }

    #rejectNoLease() {
        this.#wantLease();
        // No retry hint: the lease is being asked for now. (The core's words
        // for a rejection without one.)
        const error = new BrokenCircuitError('open', undefined);
        error.message = error.message.replace(/, retry in undefined ms$/, '');
        if (this.#fallback === undefined) return Promise.reject(error);
        try {
            return Promise.resolve(this.#fallback(error));
        } catch (e) {
            return Promise.reject(e);
        }
    }

    /** A probe, run here so that its outcome is reported to the fleet. */
    #runProbe(fn, options, permit, period) {
        const signal = options?.signal;
        const controller = new AbortController();
        return new Promise((resolve, reject) => {
            let done = false;
            let timer;
            const end = (outcome, settle) => {
                if (done) return;
                done = true;
                if (timer !== undefined) clearTimeout(timer);
                signal?.removeEventListener('abort', onAbort);
                if (outcome === 'drop') {
                    permit.release();
                    this.#giveBack(period);
                } else {
                    permit[outcome]();
                    if (outcome === 'ignore') this.#giveBack(period);
                    else this.#enqueue({ type: 'probe', period, success: outcome === 'success' });
                }
                settle();
            };
            const onAbort = () => {
                controller.abort(signal.reason);
                end('drop', () => reject(signal.reason));
            };
            signal?.addEventListener('abort', onAbort, { once: true });
            if (this.#timeoutMs > 0) {
                timer = setTimeout(() => {
                    const error = new CallTimeoutError(this.#timeoutMs);
                    controller.abort(error);
                    end('failure', () => reject(error));
                }, this.#timeoutMs);
            }
            const onValue = (value) => {
                let failed = false;
                try {
                    failed = this.#isResultFailure !== undefined && Boolean(this.#isResultFailure(value));
                } catch (e) {
                    end('failure', () => reject(e));
                    return;
                }
                end(failed ? 'failure' : 'success', () => resolve(value));
            };
            const onError = (error) => {
                let failed = true;
                try {
                    if (this.#isFailure !== undefined) failed = Boolean(this.#isFailure(error));
                } catch (e) {
                    end('failure', () => reject(e));
                    return;
                }
                end(failed ? 'failure' : 'ignore', () => reject(error));
            };
            try {
                Promise.resolve(fn({ signal: controller.signal })).then(onValue, onError);
            } catch (error) {
                onError(error);
            }
        });
    }

    /** Asks for a permit to make one call by hand; `undefined` if rejected. */
    tryAcquire() {
        if (this.#pollOnCalls) this.#poll();
        else if (!this.#started) this.#start();
        if (this.#recorded === 'closed' || !this.#leasedProbes() || this.#local.state !== 'halfOpen') {
            return this.#local.tryAcquire();
        }
        const period = this.#takeLease();
        if (period === undefined) {
            this.#wantLease();
            return undefined;
        }
        const permit = this.#local.tryAcquire();
        if (permit === undefined) {
            this.#giveBack(period);
            return undefined;
        }
        let done = undefined;
        const finish = (outcome) => {
            if (done) {
                throw done === 'release'
                    ? new PermitError('alreadyReleased', `permit.${outcome}() after release(): the permit was given back without an outcome; take a new one with tryAcquire()`)
                    : new PermitError('alreadyRecorded', `permit.${outcome}() after ${done}(): a permit records one outcome; take a new one with tryAcquire()`);
            }
            done = outcome;
            permit[outcome]();
            if (outcome === 'ignore') this.#giveBack(period);
            else this.#enqueue({ type: 'probe', period, success: outcome === 'success' });
        };
        return Object.freeze({
            success: () => finish('success'),
            failure: () => finish('failure'),
            ignore: () => finish('ignore'),
            release: () => {
                if (done) return;
                done = 'release';
                permit.release();
                this.#giveBack(period);
            },
        });
    }

    #takeLease() {
        if (this.#leases <= 0) return undefined;
        this.#leases--;
        return this.#leasePeriod;
    }

    #giveBack(period) {
        if (this.#leasePeriod === period) this.#leases++;
    }

    #wantLease() {
        if (this.#leaseWanted) return;
        this.#leaseWanted = true;
        this.#enqueue({ type: 'lease' });
    }

    /** Isolates the whole fleet: this breaker at once, every instance when it adopts the record. */
    isolate() {
        if (!this.#started) this.#start();
        this.#local.isolate();
        this.#enqueue({ type: 'isolate' });
    }

    /** Closes the whole fleet with a clean slate. */
    reset() {
        if (!this.#started) this.#start();
        this.#local.reset();
        this.#enqueue({ type: 'reset' });
    }

    /** The local breaker's metrics, with the fleet's under `fleet`. */
    metrics() {
        const m = this.#local.metrics();
        m.fleet = {
            attached: this.#leasedProbes(),
            storeErrors: this.#stats.storeErrors,
            syncs: this.#stats.syncs,
            roundTrips: this.#stats.roundTrips,
            pushes: this.#stats.pushes,
            generation: this.#seenGen,
            lastError: this.#stats.lastError,
        };
        return m;
    }

    /** Calls `listener` at every change of state of the local breaker. */
    onStateChange(listener) {
        return this.#local.onStateChange(listener);
    }

    /** Calls `listener` when the fleet detaches (store failing, refused) or attaches again. */
    onFleetChange(listener) {
        if (typeof listener !== 'function') {
            throw new TypeError(`onFleetChange(listener) takes a function, got ${describe(listener)}`);
        }
        const sub = (e) => listener(e);
        this.#listeners.add(sub);
        return () => this.#listeners.delete(sub);
    }

    #emit(event) {
        for (const l of [...this.#listeners]) {
            try {
                l(event);
            } catch (e) {
                queueMicrotask(() => {
                    throw e;
                });
            }
        }
    }

    /** Resolves once every store exchange started so far has ended (for a Worker's `ctx.waitUntil`). */
    flush() {
        return this.#pump ?? Promise.resolve();
    }

    /** Stops the periodic sync and the subscription (Node). */
    close() {
        if (this.#timer !== undefined) clearInterval(this.#timer);
        this.#timer = undefined;
        const u = this.#unsubscribe;
        this.#unsubscribe = undefined;
        if (typeof u === 'function') return Promise.resolve(u()).catch(() => {});
        return Promise.resolve();
    }

    // --- the exchange with the store -------------------------------------------

    #enqueue(ev) {
        this.#queue.push(ev);
        if (this.#pump === undefined) {
            this.#pump = Promise.resolve()
                .then(() => this.#drain())
                .finally(() => (this.#pump = undefined));
        }
    }

    #note(e) {
        this.#stats.lastError = e instanceof Error ? e.message : String(e);
    }

    async #drain() {
        while (this.#queue.length > 0) {
            const batch = this.#queue.splice(0);
            if (this.#refused !== undefined) continue;
            if (this.#now() < this.#retryAt && !batch.some((e) => e.type === 'first')) {
                // Detached: local decisions only; a trip is published later.
                if (batch.some((e) => e.type === 'trip')) this.#pendingTrip = true;
                this.#leaseWanted = false;
                continue;
            }
            const events = [];
            for (const e of batch) {
                const ev = { ...e, seenGen: this.#seenGen, local: this.#recorded };
                if (e.type === 'sync' || e.type === 'first') {
                    ev.pendingTrip = this.#pendingTrip;
                    if (this.#rules.bucketMs() > 0) {
                        const m = this.#local.metrics();
                        ev.successes = (m.successes - this.#flushedS) >>> 0;
                        ev.failures = (m.failures - this.#flushedF) >>> 0;
                        ev.totals = [m.successes, m.failures];
                    }
                }
                events.push(ev);
            }
            try {
                this.#stats.roundTrips++;
                const results = await this.#transport.apply(events, this.#name, this.#deadlineMs);
                for (let i = 0; i < events.length; i++) this.#apply(events[i], results[i]);
                if (!this.#attached || this.#retryAt !== 0) {
                    this.#attached = true;
                    this.#retryAt = 0;
                    this.#stats.lastError = undefined;
                    this.#emit({ attached: true });
                }
                this.#backoff = this.#syncMs;
                this.#readyResolve();
            } catch (e) {
                if (e instanceof FleetConfigError) {
                    this.#refused = e;
                    this.#attached = false;
                    this.#note(e);
                    this.#emit({ attached: false, refused: true, error: e });
                    this.#readyReject(e);
                    continue;
                }
                if (events.some((x) => x.type === 'trip')) this.#pendingTrip = true;
                this.#leaseWanted = false;
                this.#stats.storeErrors++;
                this.#note(e);
                const was = this.#attached;
                this.#attached = false;
                this.#retryAt = this.#now() + this.#backoff;
                this.#backoff = Math.min(this.#backoff * 2, Math.max(this.#syncMs * 8, 1_000));
                if (was || events.some((x) => x.type === 'first')) this.#emit({ attached: false, error: e });
                this.#readyResolve();
            }
        }
    }

    /** Applies one event's result: the record to the local breaker. */
    #apply(ev, res) {
        if (res === undefined || res === null) throw new FleetStoreError('the store returned no result for an event');
        if (res.error !== undefined) {
            if (res.error.refused) throw new FleetConfigError(this.#name, res.error.difference);
            throw new FleetStoreError(res.error.message ?? 'the coordinator failed');
        }
        const rec = record(res.gen, res.record);
        if (res.garbage !== undefined) {
            this.#stats.storeErrors++;
            this.#note(res.garbage);
        }
        switch (ev.type) {
            case 'lease':
                this.#leaseWanted = false;
                if (res.wrote && rec.mode === 'open' && rec.leases > 0) {
                    // Granted (a re-opening writes no lease): this instance probes.
                    this.#seenGen = rec.gen;
                    if (this.#leasePeriod !== rec.openedGen) {
                        this.#leasePeriod = rec.openedGen;
                        this.#leases = 0;
                    }
                    this.#leases++;
                    return;
                }
                this.#adopt(rec, res.nowMs, true);
                return;
            case 'probe':
                if (this.#leasePeriod === ev.period && (rec.openedGen !== ev.period || rec.mode !== 'open')) {
                    this.#leasePeriod = 0;
                    this.#leases = 0;
                }
                this.#adopt(rec, res.nowMs, true);
                return;
            case 'sync':
            case 'first':
                if (ev.totals !== undefined) [this.#flushedS, this.#flushedF] = ev.totals;
                if (ev.periodic) this.#stats.syncs++;
                if (ev.pendingTrip) this.#pendingTrip = false;
                this.#adopt(rec, res.nowMs, false);
                return;
            default:
                this.#adopt(rec, res.nowMs, true);
        }
    }

    #adopt(rec, now, force) {
        const seen = this.#seenGen;
        this.#seenGen = rec.gen;
        if (rec.gen === seen && !force) return;
        const period = this.#leasePeriod;
        const probing = rec.mode === 'open' && rec.openedGen === period && period !== 0;
        if (probing) return;
        this.#leases = 0;
        this.#leasePeriod = 0;
        const v = this.#rules.view(rec.genText, rec.text, now).split('|');
        const fleet = v[0] === 'open' ? { state: 'open', remainingMs: Number(v[1]), k: Number(v[2]) } : { state: v[0] };
        this.#local.adopt(fleet);
    }
}

// ---------------------------------------------------------------------------
// Stores

function text(v) {
    if (v === null || v === undefined) return null;
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    if (v instanceof Uint8Array) return new TextDecoder().decode(v);
    return null;
}

function clock(items, at) {
    const s = Number(text(items[at]));
    const us = Number(text(items[at + 1]));
    if (!Number.isSafeInteger(s) || !Number.isSafeInteger(us)) throw new FleetStoreError('TIME is not two numbers');
    return s * 1000 + Math.floor(us / 1000);
}

function readReply(items, at) {
    return {
        nowMs: clock(items, at),
        gen: text(items[at + 2]) ?? '',
        record: text(items[at + 3]),
        config: text(items[at + 4]),
        counts: [],
    };
}

/** The options of RedisFleetStore. */
const REDIS_STORE_KEYS = ['subscriber', 'cluster'];

/** Whether `value` looks like a node-redis client (or cluster client) to subscribe with. */
function isSubscriber(value) {
    return typeof value === 'object' && value !== null && typeof value.subscribe === 'function' && typeof value.unsubscribe === 'function';
}

/**
 * The fleet record in Redis, through the `redis` npm client (node-redis),
 * with the Rust crate's three Lua scripts and its key layout
 * `{halfopen:NAME}:record|counts|changes`: Rust and Node services share one
 * record.
 */
export class RedisFleetStore {
    #client;
    #subscriber;
    #cluster;
    #sha = new Map();
    /** The store runs the periodic sync on a timer (Node). */
    timers = true;

    /**
     * `client`: a connected node-redis client (`createClient()`), or with
     * `cluster: true` a connected cluster client (`createCluster()`: every
     * key of a breaker has the hash tag `{halfopen:NAME}`, one slot);
     * optional `subscriber`: a second connected client (or cluster client)
     * for pushes (pub/sub).
     */
    constructor(client, options) {
        if (typeof client !== 'object' || client === null || typeof client.sendCommand !== 'function') {
            throw optionError(TypeError, 'client', `RedisFleetStore takes a connected client of the redis package (createClient() or createCluster()), got ${describe(client)}`);
        }
        if (options === undefined) options = {};
        if (!isPlainObject(options)) {
            throw optionError(TypeError, '', `RedisFleetStore's options must be an object {${REDIS_STORE_KEYS.join(', ')}}, got ${describe(options)}`);
        }
        const unknown = unknownKeyError(options, REDIS_STORE_KEYS, 'RedisFleetStore option', `the options are ${REDIS_STORE_KEYS.join(', ')}`);
        if (unknown !== undefined) throw unknown;
        if (options.cluster !== undefined && typeof options.cluster !== 'boolean') {
            throw optionError(TypeError, 'cluster', `cluster must be a boolean, got ${describe(options.cluster)}`);
        }
        const { subscriber } = options;
        if (subscriber !== undefined && !isSubscriber(subscriber)) {
            throw optionError(
                TypeError,
                'subscriber',
                `subscriber must be a second connected client of the redis package (client.duplicate()), with subscribe() and unsubscribe(), got ${describe(subscriber)}`,
            );
        }
        this.#client = client;
        this.#subscriber = options.subscriber;
        this.#cluster = options.cluster === true;
    }

    /** A command, routed by `key` on a cluster. */
    #send(key, args) {
        return this.#cluster ? this.#client.sendCommand(key, false, args) : this.#client.sendCommand(args);
    }

    static keys(name) {
        checkName(name);
        return { record: `{halfopen:${name}}:record`, counts: `{halfopen:${name}}:counts`, channel: `{halfopen:${name}}:changes` };
    }

    async #eval(script, keys, args) {
        const key = keys[0];
        const fail = (e) => new FleetStoreError(`redis: ${e?.message ?? e}`, { cause: e });
        let sha = this.#sha.get(script);
        try {
            if (sha === undefined) {
                sha = await this.#send(key, ['SCRIPT', 'LOAD', script]);
                this.#sha.set(script, sha);
            }
        } catch (e) {
            throw fail(e);
        }
        const cmd = (s) => ['EVALSHA', s, String(keys.length), ...keys, ...args.map(String)];
        try {
            return await this.#send(key, cmd(sha));
        } catch (e) {
            if (!/NOSCRIPT/.test(String(e?.message))) throw fail(e);
        }
        // The server lost its scripts (a restart), or this cluster node never
        // had them: load them there.
        try {
            const again = await this.#send(key, ['SCRIPT', 'LOAD', script]);
            this.#sha.set(script, again);
            return await this.#send(key, cmd(again));
        } catch (e) {
            throw fail(e);
        }
    }

    #array(v, what) {
        if (!Array.isArray(v)) throw new FleetStoreError(`${what} did not return an array`);
        return v;
    }

    async read(name) {
        const k = RedisFleetStore.keys(name);
        return readReply(this.#array(await this.#eval(READ_LUA, [k.record], []), 'read.lua'), 0);
    }

    async write(name, expected, gen, recordText, config, clear) {
        const k = RedisFleetStore.keys(name);
        const items = this.#array(
            await this.#eval(WRITE_LUA, [k.record, k.counts], [expected, gen, recordText, config, k.channel, clear ? '1' : '0']),
            'write.lua',
        );
        const first = Number(text(items[0]));
        if (first === 1) return { written: true, nowMs: clock(items, 1) };
        if (first === 0) return { written: false, ...readReply(items, 1) };
        throw new FleetStoreError('write.lua did not return 0 or 1 first');
    }

    async count(name, bucketMs, buckets, successes, failures) {
        const k = RedisFleetStore.keys(name);
        const items = this.#array(await this.#eval(COUNT_LUA, [k.record, k.counts], [bucketMs, buckets, successes, failures]), 'count.lua');
        const read = readReply(items, 0);
        const rest = items.slice(5);
        if (rest.length % 2 !== 0) throw new FleetStoreError('count.lua returned an odd field list');
        for (let i = 0; i < rest.length; i += 2) {
            const n = Number(text(rest[i + 1]));
            if (!Number.isSafeInteger(n)) throw new FleetStoreError('count.lua returned a count that is not a number');
            read.counts.push([text(rest[i]), n]);
        }
        return read;
    }

    /** Listens for changes of `name` on its channel (needs `subscriber`). */
    async subscribe(name, onChange) {
        if (this.#subscriber === undefined) return undefined;
        const { channel } = RedisFleetStore.keys(name);
        const listener = (message) => onChange(message);
        await this.#subscriber.subscribe(channel, listener);
        return () => this.#subscriber.unsubscribe(channel, listener);
    }
}

/**
 * A store over a Durable Object's storage (used by the HalfOpenFleet
 * coordinator): the same read / compare-and-set / count as the Lua scripts,
 * on the object's clock. One object runs one request at a time between
 * awaits of its storage (input gates), and every write is guarded by the
 * generation all the same.
 */
export class StorageFleetStore {
    #storage;
    #now;
    constructor(storage, now = Date.now) {
        this.#storage = storage;
        this.#now = now;
    }
    async #get(name) {
        const v = await this.#storage.get(`record:${name}`);
        if (v === undefined) return { gen: '', record: null, config: null };
        if (typeof v !== 'object' || v === null) return { gen: `!${typeof v}`, record: null, config: null };
        return { gen: typeof v.gen === 'string' ? v.gen : '', record: typeof v.record === 'string' ? v.record : null, config: typeof v.config === 'string' ? v.config : null };
    }
    async read(name) {
        return { nowMs: this.#now(), counts: [], ...(await this.#get(name)) };
    }
    async write(name, expected, gen, recordText, config, clear) {
        const cur = await this.#get(name);
        const now = this.#now();
        if (cur.gen !== expected) return { written: false, nowMs: now, counts: [], ...cur };
        await this.#storage.put(`record:${name}`, { gen, record: recordText, config: cur.config ?? config });
        if (clear) await this.#storage.delete(`counts:${name}`);
        this.changed?.(name, gen);
        return { written: true, nowMs: now };
    }
    async count(name, bucketMs, buckets, successes, failures) {
        const now = this.#now();
        const bucket = Math.floor(now / bucketMs);
        let counts = await this.#storage.get(`counts:${name}`);
        if (typeof counts !== 'object' || counts === null) counts = {};
        const kept = {};
        for (const [field, n] of Object.entries(counts)) {
            const m = /^(\d+):[sf]$/.exec(field);
            if (m && Number(m[1]) > bucket - buckets && Number(m[1]) <= bucket && Number.isSafeInteger(n)) kept[field] = n;
        }
        if (successes > 0) kept[`${bucket}:s`] = (kept[`${bucket}:s`] ?? 0) + successes;
        if (failures > 0) kept[`${bucket}:f`] = (kept[`${bucket}:f`] ?? 0) + failures;
        await this.#storage.put(`counts:${name}`, kept);
        return { nowMs: now, counts: Object.entries(kept), ...(await this.#get(name)) };
    }
}

// ---------------------------------------------------------------------------
// Cloudflare Workers: the Durable Object coordinator and the isolates' store.

const RULES_CACHE_MAX = 64;
/** The most events one request to the coordinator may carry (an isolate sends a handful). */
const MAX_EVENTS = 256;

/**
 * The Durable Object that holds the fleet records of a Worker's breakers and
 * applies the core's fleet rules to them. Bind it in wrangler.toml:
 *
 *     [[durable_objects.bindings]]
 *     name = "FLEET"
 *     class_name = "HalfOpenFleet"
 *
 * and export it from the Worker's module: `export { HalfOpenFleet } from 'halfopen/fleet'`.
 */
export class HalfOpenFleet {
    #state;
    #store;
    #rules = new Map();

    constructor(state, env) {
        this.#state = state;
        this.env = env;
        this.#store = new StorageFleetStore(state.storage);
        this.#store.changed = (name, gen) => this.#push(name, gen);
    }

    #push(name, gen) {
        const sockets = this.#state.getWebSockets?.(name) ?? [];
        for (const ws of sockets) {
            try {
                ws.send(String(gen));
            } catch {
                // A socket closing: the isolate syncs on its next call anyway.
            }
        }
    }

    #rulesFor(b) {
        const key = `${b.config}\n${b.leaseMs}\n${b.windowMs}\n${b.buckets}`;
        let r = this.#rules.get(key);
        if (r === undefined) {
            r = fleetRules(b.config, b.leaseMs, b.windowMs, b.buckets);
            if (this.#rules.size >= RULES_CACHE_MAX) this.#rules.clear();
            this.#rules.set(key, r);
        }
        return r;
    }

    async fetch(request) {
        const url = new URL(request.url);
        if (url.pathname === '/subscribe') {
            if (request.headers.get('upgrade') !== 'websocket') return new Response('expected a WebSocket upgrade', { status: 426 });
            let name;
            try {
                name = checkName(url.searchParams.get('name') ?? '');
            } catch (e) {
                return Response.json({ error: { message: e.message } }, { status: 400 });
            }
            const pair = new WebSocketPair();
            // The hibernation API: an idle coordinator is evicted from memory
            // while its sockets stay open.
            this.#state.acceptWebSocket(pair[1], [name]);
            return new Response(null, { status: 101, webSocket: pair[0] });
        }
        if (url.pathname !== '/apply' || request.method !== 'POST') return new Response('not found', { status: 404 });
        let body;
        try {
            body = await request.json();
        } catch {
            return Response.json({ error: { message: 'the request body is not JSON' } }, { status: 400 });
        }
        const fail = (message) => Response.json({ error: { message } }, { status: 400 });
        if (typeof body !== 'object' || body === null || !Array.isArray(body.events)) return fail('the request has no events');
        if (body.events.length > MAX_EVENTS) return fail(`the request has ${body.events.length} events: at most ${MAX_EVENTS}`);
        try {
            checkName(body.name);
        } catch (e) {
            return fail(e.message);
        }
        if (typeof body.config !== 'string' || ![body.leaseMs, body.windowMs, body.buckets].every(Number.isInteger)) {
            return fail('the request has no configuration (config, leaseMs, windowMs, buckets)');
        }
        let rules;
        try {
            rules = this.#rulesFor(body);
        } catch (e) {
            return fail(e.message);
        }
        const configText = rules.configText();
        const results = [];
        for (const ev of body.events) {
            if (typeof ev !== 'object' || ev === null || !Number.isSafeInteger(ev.seenGen) || ev.seenGen < 0) {
                results.push({ error: { message: 'an event without a valid seenGen' } });
                continue;
            }
            try {
                results.push(await decide(rules, configText, this.#store, body.name, ev));
            } catch (e) {
                if (e instanceof FleetConfigError) results.push({ error: { refused: true, difference: e.difference } });
                else results.push({ error: { message: e instanceof Error ? e.message : String(e) } });
            }
        }
        return Response.json({ results });
    }

    webSocketMessage(ws, message) {
        if (message === 'ping') ws.send('pong');
    }

    webSocketClose(ws, code) {
        try {
            ws.close(code === 1005 ? 1000 : code, 'bye');
        } catch {
            // Already closed.
        }
    }
}

/**
 * An isolate's store: the HalfOpenFleet Durable Object, reached through its
 * namespace binding (`env.FLEET`). The object applies the rules; an isolate
 * sends its events in one request per exchange (batched) and adopts the
 * records it gets back.
 */
export class DurableObjectFleetStore {
    #ns;
    #meta = undefined;
    /** No timers: an isolate syncs on its calls, at most once per syncMs. */
    timers = false;

    constructor(namespace) {
        if (typeof namespace !== 'object' || namespace === null || typeof namespace.idFromName !== 'function' || typeof namespace.get !== 'function') {
            throw keyed(new TypeError(`DurableObjectFleetStore takes a Durable Object namespace binding (env.FLEET), got ${describe(namespace)}`), 'namespace');
        }
        this.#ns = namespace;
    }

    /** @internal set by the FleetBreaker: what the coordinator needs to build the rules. */
    bind(meta) {
        this.#meta = meta;
        return this;
    }

    async apply(events, name, deadlineMs) {
        const meta = this.#meta;
        if (meta === undefined) throw new FleetStoreError('DurableObjectFleetStore was not bound to a breaker');
        // A fresh stub per exchange: a stub is not carried across requests.
        const stub = this.#ns.get(this.#ns.idFromName(name));
        const exchange = async () => {
            const response = await stub.fetch('https://halfopen.fleet/apply', {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ name, ...meta, events: events.map(({ totals, ...e }) => e) }),
            });
            try {
                return [response, await response.json()];
            } catch {
                throw new FleetStoreError(`the coordinator answered ${response.status} without JSON`);
            }
        };
        // One request per exchange, under the deadline.
        const [response, body] = await withDeadline(exchange(), deadlineMs, 'the coordinator request');
        if (!response.ok || !Array.isArray(body?.results) || body.results.length !== events.length) {
            throw new FleetStoreError(body?.error?.message ?? `the coordinator answered ${response.status}`);
        }
        return body.results;
    }
}

/**
 * A FleetBreaker on a Durable Object coordinator: `env.FLEET` is the
 * HalfOpenFleet namespace binding.
 */
export function durableObjectFleet(namespace, options) {
    const store = new DurableObjectFleetStore(namespace);
    const fleet = new FleetBreaker({ ...options, store });
    const rest = stripFleet(options);
    store.bind({ config: configPairs(rest), ...fleetShape(options.fleet ?? {}, rest) });
    return fleet;
}

function stripFleet(options) {
    const { name, store, syncMs, deadlineMs, fleet, ...rest } = options;
    return rest;
}

