// The case-running core of the conformance vector runner (vectors.mjs), with
// no Node.js imports: it runs in Node, in workerd and in a browser page. The
// API (`CircuitBreaker`, `SnapshotError`) is the `halfopen` module the
// caller imported, so each runtime tests the build it resolves.
//
// `runCases(cases, api)` returns the lines the host runner prints for those
// cases: `ok NAME` or `FAIL NAME: ...` per case, then `N passed, N failed`.

const OUTCOMES = new Set(['success', 'failure', 'ignore', 'drop']);

class StepFailure extends Error {}

function show(v) {
    return v === undefined ? 'undefined' : JSON.stringify(v);
}

/** The error an operation rejects with to end as `ignore` (see `isFailure`). */
const IGNORED = new Error('ignored by the vector');

/**
 * One call in flight through `execute`: the operation's promise is settled by
 * the vector's outcome step; a `drop` cancels the call with its signal.
 */
class Call {
    constructor(breaker) {
        this.abort = new AbortController();
        this.settle = undefined;
        this.promise = breaker.execute(
            () =>
                new Promise((resolve, reject) => {
                    this.settle = { resolve, reject };
                }),
            { signal: this.abort.signal },
        );
        // The outcome is observed through the breaker, not this promise.
        this.done = this.promise.then(
            () => undefined,
            (e) => e,
        );
    }

    get allowed() {
        return this.settle !== undefined;
    }

    /** Why it was rejected: the `reason` of execute's error. */
    async reason() {
        const e = await this.done;
        return e?.reason;
    }

    async end(outcome) {
        if (outcome === 'success') this.settle.resolve('ok');
        else if (outcome === 'failure') this.settle.reject(new Error('failure'));
        else if (outcome === 'ignore') this.settle.reject(IGNORED);
        else this.abort.abort();
        await this.done;
    }
}

const METRICS = new Set(['epoch', 'failures', 'ignored', 'openedAt', 'rejected', 'retryAt', 'slowCalls', 'state', 'successes', 'transitions']);
const STATES = new Set(['closed', 'open', 'halfOpen', 'isolated']);
const REJECTS = new Set(['open', 'halfOpenFull', 'isolated', 'clockOutOfRange']);

/** A configError expectation as the host runner prints it: a string bare, anything else as JSON. */
function keyText(v) {
    return typeof v === 'string' ? v : show(v);
}

/**
 * The host runner's reading of `config` (tests/src/model.rs `config_pairs`):
 * an object, `trip` naming one policy, every leaf an integer.
 */
function checkConfig(config) {
    const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
    if (!isObject(config)) throw new StepFailure('config is not an object');
    const leaves = (prefix, v) => {
        if (isObject(v)) {
            for (const [k, w] of Object.entries(v)) leaves(`${prefix}.${k}`, w);
        } else if (!Number.isInteger(v)) {
            throw new StepFailure(`config ${prefix} is not an integer: ${show(v)}`);
        }
    };
    for (const [key, value] of Object.entries(config)) {
        if (key !== 'trip') {
            leaves(key, value);
            continue;
        }
        if (!isObject(value)) throw new StepFailure('config.trip is not an object');
        const policies = Object.entries(value);
        if (policies.length !== 1) throw new StepFailure(`config.trip holds ${policies.length} policies, expected one`);
        leaves(...policies[0]);
    }
}

/**
 * The host runner's checks of a step before it runs (tests/src/model.rs),
 * in its order: `at`, `do`, `permit`, `outcome`, `durationMs`, `expect`.
 * Returns the expect keys in the order the host checks them (alphabetical).
 */
function checkStep(step, fail, api) {
    if (typeof step !== 'object' || step === null || Array.isArray(step)) throw fail('step is not an object');
    if (!Number.isInteger(step.at) || step.at < 0) throw fail('step has no non-negative integer `at`');
    if (typeof step.do !== 'string') throw fail('step has no `do`');
    if (step.permit !== undefined && typeof step.permit !== 'string') throw fail('permit is not a string');
    switch (step.do) {
        case 'acquire':
        case 'state':
        case 'isolate':
        case 'reset':
            break;
        case 'success':
        case 'failure':
        case 'ignore':
        case 'drop':
            if (step.permit === undefined) throw fail(`\`${step.do}\` needs a permit`);
            break;
        case 'call': {
            if (step.outcome !== undefined && !OUTCOMES.has(step.outcome)) throw fail(`unknown outcome ${show(step.outcome)}`);
            const d = step.durationMs;
            if (d !== undefined && (!Number.isInteger(d) || d < 0)) throw fail('durationMs is not a non-negative integer');
            break;
        }
        case 'adopt':
            checkFleet(step, fail, api);
            break;
        case 'restart': {
            if (!isCount(step.restoreAt)) throw fail('`restart` needs a non-negative integer `restoreAt`');
            if (step.sameClock !== undefined && typeof step.sameClock !== 'boolean') {
                throw fail(`sameClock is not a boolean: ${show(step.sameClock)}`);
            }
            break;
        }
        default:
            throw fail(`unknown action ${show(step.do)}`);
    }
    const expect = step.expect ?? {};
    if (typeof expect !== 'object' || expect === null || Array.isArray(expect)) throw fail('expect is not an object');
    const keys = Object.keys(expect).sort();
    for (const key of keys) {
        const v = expect[key];
        switch (key) {
            case 'allowed':
                if (typeof v !== 'boolean') throw fail(`allowed is not a boolean: ${show(v)}`);
                break;
            case 'configError':
                break;
            case 'metrics':
                if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail('metrics is not an object');
                for (const k of Object.keys(v).sort()) {
                    if (!METRICS.has(k)) throw fail(`unknown metrics key ${show(k)}`);
                    const w = v[k];
                    if (!(w === null || (Number.isInteger(w) && w >= 0) || STATES.has(w))) {
                        throw fail(`metrics.${k}: unsupported value ${show(w)}`);
                    }
                }
                break;
            case 'reject':
                if (!REJECTS.has(v)) throw fail(`unknown reject ${show(v)}`);
                break;
            case 'state':
                if (!STATES.has(v)) throw fail(`unknown state ${show(v)}`);
                break;
            default:
                throw fail(`unknown expect key ${show(key)}`);
        }
    }
    return keys;
}

/** A JSON number the host reads as a u64 (`Value::as_u64`). */
function isCount(v) {
    return Number.isInteger(v) && v >= 0 && v < 2 ** 64;
}

/**
 * The fleet state of an `adopt` step, checked as the host runner checks it
 * (tests/src/model.rs `fleet_state`): `state`, then `remainingMs` and `k`,
 * then what the state needs; an open state whose remaining time the core
 * refuses is malformed, with the core's message, which the JS API gives.
 */
function checkFleet(step, fail, api) {
    if (!Object.hasOwn(step, 'state')) throw fail('`adopt` needs a `state`');
    for (const key of ['remainingMs', 'k']) {
        if (step[key] !== undefined && !isCount(step[key])) throw fail(`${key} is not a non-negative integer: ${show(step[key])}`);
    }
    switch (step.state) {
        case 'open': {
            if (step.remainingMs === undefined) throw fail('adopting "open" needs `remainingMs`');
            if (step.k === undefined) throw fail('adopting "open" needs `k`');
            if (step.k > 0xffff_ffff) throw fail(`k = ${step.k} is out of range 0..=4294967295`);
            try {
                new api.CircuitBreaker().adopt({ state: 'open', remainingMs: step.remainingMs, k: step.k });
            } catch (e) {
                if (e instanceof RangeError && e.key === 'remainingMs') throw fail(e.message);
                throw e;
            }
            break;
        }
        case 'closed':
        case 'isolated':
            if (step.remainingMs !== undefined || step.k !== undefined) {
                throw fail(`\`remainingMs\` and \`k\` only go with state "open", not ${show(step.state)}`);
            }
            break;
        default:
            throw fail(`unknown fleet state ${show(step.state)}`);
    }
}

async function runCase(c, api) {
    const { CircuitBreaker, SnapshotError } = api;
    if (c?.config === undefined) throw new StepFailure('case has no config');
    const steps = c.steps;
    if (!Array.isArray(steps)) throw new StepFailure('case has no steps');
    checkConfig(c.config);
    let now = 0;
    let breaker;
    const wantError = steps[0]?.expect?.configError;
    const options = { ...c.config, clock: () => now, isFailure: (e) => e !== IGNORED };
    try {
        breaker = new CircuitBreaker(options);
    } catch (e) {
        if (!(e instanceof TypeError || e instanceof RangeError)) throw e;
        const message = e.message.replace(/^halfopen: /, '');
        if (wantError === undefined) throw new StepFailure(`step 0: expected a valid config, got configError ${message}`);
        if (wantError !== e.key) throw new StepFailure(`step 0: expected configError ${keyText(wantError)}, got configError ${e.key} (${message})`);
        return;
    }
    if (wantError !== undefined) {
        throw new StepFailure(`step 0: expected configError ${keyText(wantError)}, got a valid config`);
    }
    const calls = new Map();
    const held = [];
    for (const [i, step] of steps.entries()) {
        const fail = (what) => new StepFailure(`step ${i}: ${what}`);
        const keys = checkStep(step, fail, api);
        now = step.at;
        let acquired; // undefined: the step does not acquire
        const acquire = async () => {
            const call = new Call(breaker);
            return call.allowed ? { allowed: true, call } : { allowed: false, reject: await call.reason() };
        };
        switch (step.do) {
            case 'acquire': {
                // A permit held without a name, or replaced under its name,
                // is never settled (the host lets its token go); `held` keeps
                // it reachable, so that no finalizer releases it.
                acquired = await acquire();
                if (acquired.allowed) {
                    if (step.permit !== undefined) {
                        if (calls.has(step.permit)) held.push(calls.get(step.permit));
                        calls.set(step.permit, acquired.call);
                    } else {
                        held.push(acquired.call);
                    }
                }
                break;
            }
            case 'success':
            case 'failure':
            case 'ignore':
            case 'drop': {
                const call = calls.get(step.permit);
                if (call === undefined) throw fail(`no held permit named ${show(step.permit)}`);
                calls.delete(step.permit);
                await call.end(step.do);
                break;
            }
            case 'call': {
                acquired = await acquire();
                if (acquired.allowed) {
                    now = step.at + (step.durationMs ?? 0);
                    await acquired.call.end(step.outcome ?? 'success');
                }
                break;
            }
            case 'isolate':
                breaker.isolate();
                break;
            case 'reset':
                breaker.reset();
                break;
            case 'adopt':
                breaker.adopt(step.state === 'open' ? { state: 'open', remainingMs: step.remainingMs, k: step.k } : { state: step.state });
                break;
            case 'restart': {
                // Snapshot at `at`; a fresh breaker of the same config, whose
                // clock reads `restoreAt`, restored from it. Its calls are
                // new: the old breaker's named permits are forgotten (held,
                // so that no finalizer releases them into the old breaker).
                const bytes = breaker.snapshot();
                now = step.restoreAt;
                held.push(...calls.values());
                calls.clear();
                try {
                    breaker = CircuitBreaker.restore(bytes, { ...options, sameClock: step.sameClock ?? false });
                } catch (e) {
                    if (e instanceof SnapshotError) throw fail(`restore refused: ${e.message}`);
                    throw e;
                }
                break;
            }
            default: // state
                break;
        }
        check(step.expect ?? {}, keys, acquired, fail);
    }

    function check(expect, keys, acquired, fail) {
        for (const key of keys) {
            const want = expect[key];
            switch (key) {
                case 'allowed': {
                    if (acquired === undefined) throw fail('`allowed` expected on a step that does not acquire');
                    if (acquired.allowed !== want) throw fail(`expected allowed ${show(want)}, got ${show(acquired.allowed)}`);
                    break;
                }
                case 'configError':
                    throw fail('configError is only expected on the first step of an invalid config');
                case 'metrics': {
                    const m = breaker.metrics();
                    for (const k of Object.keys(want).sort()) {
                        const w = want[k];
                        const got = m[k] === undefined ? null : m[k];
                        if (got !== w) throw fail(`expected metrics.${k} ${show(w)}, got ${show(got)}`);
                    }
                    break;
                }
                case 'reject': {
                    if (acquired === undefined) throw fail('`reject` expected on a step that does not acquire');
                    const got = acquired.allowed ? 'allowed' : acquired.reject;
                    if (got !== want) throw fail(`expected reject ${show(want)}, got ${show(got)}`);
                    break;
                }
                default: { // state
                    const got = breaker.state;
                    if (got !== want) throw fail(`expected state ${show(want)}, got ${show(got)}`);
                    break;
                }
            }
        }
    }
}

/**
 * Runs `cases` (the parsed array of one or more vector files) and calls
 * `emit` with each case's line, `ok NAME` or `FAIL NAME: ...`, as the host
 * runner prints it. Returns the counts.
 */
export async function runCaseLines(cases, api, emit) {
    let passed = 0;
    let failed = 0;
    for (const [i, c] of cases.entries()) {
        const name = typeof c?.name === 'string' ? c.name : `case #${i}`;
        try {
            await runCase(c, api);
            emit(`ok ${name}`);
            passed++;
        } catch (e) {
            const why = e instanceof StepFailure ? e.message : `threw ${e?.stack ?? e}`;
            emit(`FAIL ${name}: ${why}`);
            failed++;
        }
    }
    return { passed, failed };
}

/** The host runner's lines for `cases`: one per case, then `N passed, N failed`. */
export async function runCases(cases, api) {
    const lines = [];
    const { passed, failed } = await runCaseLines(cases, api, (line) => lines.push(line));
    lines.push(`${passed} passed, ${failed} failed`);
    return lines;
}
