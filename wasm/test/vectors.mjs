#!/usr/bin/env node
// Runs BEHAVIOR.md conformance vector files through the public JS API of the
// installed `halfopen` package, with the `clock` option set to each step's
// `at`. Every call goes through `execute`: an acquire is an operation whose
// promise the vector settles later (success: it resolves; failure: it
// rejects; ignore: it rejects with an error `isFailure` declines; drop: the
// call is cancelled through its `signal`), and a rejection's reason is the
// `reason` of the error `execute` rejects with.
//
//   node vectors.mjs FILE...
//
// Prints `ok NAME` or `FAIL NAME: step I: expected X, got Y` per case, then
// `N passed, N failed`; exits non-zero on any failure.
import { readFileSync } from 'node:fs';
import { CircuitBreaker } from 'halfopen';

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

async function runCase(c) {
    const steps = c.steps;
    if (!Array.isArray(steps)) throw new StepFailure('step 0: case has no steps');
    let now = 0;
    let breaker;
    try {
        breaker = new CircuitBreaker({ ...c.config, clock: () => now, isFailure: (e) => e !== IGNORED });
    } catch (e) {
        if (!(e instanceof TypeError || e instanceof RangeError)) throw e;
        const want = steps[0]?.expect?.configError;
        if (want === undefined) throw new StepFailure(`step 0: expected a valid config, got configError ${e.key} (${e.message})`);
        if (want !== e.key) throw new StepFailure(`step 0: expected configError ${show(want)}, got configError ${show(e.key)} (${e.message})`);
        return;
    }
    if (steps[0]?.expect?.configError !== undefined) {
        throw new StepFailure(`step 0: expected configError ${show(steps[0].expect.configError)}, got a valid config`);
    }
    const calls = new Map();
    const held = [];
    for (const [i, step] of steps.entries()) {
        const fail = (what) => new StepFailure(`step ${i}: ${what}`);
        if (!Number.isInteger(step.at) || step.at < 0) throw fail('step has no non-negative integer `at`');
        now = step.at;
        let acquired; // undefined: the step does not acquire
        const acquire = async () => {
            const call = new Call(breaker);
            return call.allowed ? { allowed: true, call } : { allowed: false, reject: await call.reason() };
        };
        switch (step.do) {
            case 'acquire': {
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
                if (step.permit === undefined) throw fail(`\`${step.do}\` needs a permit`);
                const call = calls.get(step.permit);
                if (call === undefined) throw fail(`no held permit named ${show(step.permit)}`);
                calls.delete(step.permit);
                await call.end(step.do);
                break;
            }
            case 'call': {
                const outcome = step.outcome ?? 'success';
                if (!OUTCOMES.has(outcome)) throw fail(`unknown outcome ${show(outcome)}`);
                const duration = step.durationMs ?? 0;
                if (!Number.isInteger(duration) || duration < 0) throw fail('durationMs is not a non-negative integer');
                acquired = await acquire();
                if (acquired.allowed) {
                    now = step.at + duration;
                    await acquired.call.end(outcome);
                }
                break;
            }
            case 'state':
                break;
            case 'isolate':
                breaker.isolate();
                break;
            case 'reset':
                breaker.reset();
                break;
            default:
                throw fail(`unknown action ${show(step.do)}`);
        }
        check(step.expect ?? {}, acquired, fail);
    }

    function check(expect, acquired, fail) {
        for (const [key, want] of Object.entries(expect)) {
            switch (key) {
                case 'allowed': {
                    if (acquired === undefined) throw fail('`allowed` expected on a step that does not acquire');
                    if (acquired.allowed !== want) throw fail(`expected allowed ${show(want)}, got ${show(acquired.allowed)}`);
                    break;
                }
                case 'reject': {
                    if (acquired === undefined) throw fail('`reject` expected on a step that does not acquire');
                    const got = acquired.allowed ? 'allowed' : acquired.reject;
                    if (got !== want) throw fail(`expected reject ${show(want)}, got ${show(got)}`);
                    break;
                }
                case 'state': {
                    const got = breaker.state;
                    if (got !== want) throw fail(`expected state ${show(want)}, got ${show(got)}`);
                    break;
                }
                case 'metrics': {
                    const m = breaker.metrics();
                    for (const [k, w] of Object.entries(want)) {
                        if (!(k in m)) throw fail(`unknown metrics key ${show(k)}`);
                        const got = m[k] === undefined ? null : m[k];
                        if (got !== w) throw fail(`expected metrics.${k} ${show(w)}, got ${show(got)}`);
                    }
                    break;
                }
                case 'configError':
                    throw fail('configError is only expected on the first step of an invalid config');
                default:
                    throw fail(`unknown expect key ${show(key)}`);
            }
        }
    }
}

const files = process.argv.slice(2);
if (files.length === 0) {
    console.error('usage: node vectors.mjs FILE...');
    process.exit(2);
}
let passed = 0;
let failed = 0;
for (const file of files) {
    let cases;
    try {
        cases = JSON.parse(readFileSync(file, 'utf8'));
        if (!Array.isArray(cases)) throw new Error('a vector file is a JSON array of cases');
    } catch (e) {
        console.log(`FAIL ${file}: ${e.message}`);
        failed++;
        continue;
    }
    for (const [i, c] of cases.entries()) {
        const name = typeof c?.name === 'string' ? c.name : `case #${i}`;
        try {
            await runCase(c);
            console.log(`ok ${name}`);
            passed++;
        } catch (e) {
            const why = e instanceof StepFailure ? e.message : `threw ${e?.stack ?? e}`;
            console.log(`FAIL ${name}: ${why}`);
            failed++;
        }
    }
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
