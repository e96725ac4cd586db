#!/usr/bin/env node
// Churn benchmark: breakers created and dropped in rounds, as a program with
// a breaker per tenant or host does. Reports, per round, the time it took and
// the size of the package's wasm memory (its WebAssembly.Memory buffer).
//
//   node churn.mjs [--rounds N] [--breakers N] [--mode explicit|dropped|gc]
//
// Without --mode it runs the three modes, each in a process of its own (so
// one mode's garbage and heap do not carry into the next):
//
//   explicit  the round's breakers created, then all freed, by the module's own
//             `create` and `free` exports, the very calls the CircuitBreaker
//             constructor and its FinalizationRegistry make: the JS API has
//             no method that frees a breaker (its memory is released when
//             the breaker is collected), so this is the allocator's cost
//             without the garbage collector's. Should the API gain one
//             (`dispose`, `free` or `Symbol.dispose`), `new CircuitBreaker`
//             and that method are used instead.
//   dropped   `new CircuitBreaker(...)` and let go, no forced GC: the
//             FinalizationRegistry frees them whenever V8 collects them.
//   gc        as dropped, with `node --expose-gc` and `gc()` after each
//             round; the round's time includes the collection and the
//             frees it triggers.
//
// The default: 10 rounds of 100,000 breakers.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Records every WebAssembly instance created from now on, and returns a
 * function giving the exports of the halfopen module (the instance that
 * exports `create` and `free`). Call before importing the package.
 */
export function captureWasm() {
    const instances = [];
    const { Instance, instantiate } = WebAssembly;
    WebAssembly.Instance = new Proxy(Instance, {
        construct(target, args, newTarget) {
            const instance = Reflect.construct(target, args, newTarget);
            instances.push(instance);
            return instance;
        },
    });
    WebAssembly.instantiate = async function (...args) {
        const result = await instantiate.apply(this, args);
        instances.push(result instanceof Instance ? result : result.instance);
        return result;
    };
    return () => {
        const found = instances.find((i) => typeof i.exports.create === 'function' && typeof i.exports.free === 'function');
        if (found === undefined) throw new Error('the halfopen wasm instance was not seen: import the package after captureWasm()');
        return found.exports;
    };
}

/** The breaker's freeing method, if the JS API has one. */
export function disposer(CircuitBreaker) {
    const p = CircuitBreaker.prototype;
    for (const name of ['dispose', 'free', Symbol.dispose]) {
        if (name !== undefined && typeof p[name] === 'function') return name;
    }
    return undefined;
}

const args = process.argv.slice(2);
const arg = (name, fallback) => {
    const i = args.indexOf(name);
    return i < 0 ? fallback : args[i + 1];
};

function int(name, fallback) {
    const v = Number(arg(name, fallback));
    if (!Number.isInteger(v) || v < 1) {
        console.error(`${name} must be a positive integer, got ${arg(name, fallback)}`);
        process.exit(2);
    }
    return v;
}

const MODES = ['explicit', 'dropped', 'gc'];

async function runMode(mode, rounds, breakers) {
    const wasm = captureWasm();
    const { CircuitBreaker } = await import('halfopen');
    const exports = wasm();
    const memory = () => exports.memory.buffer.byteLength;
    const method = disposer(CircuitBreaker);
    const options = { trip: { consecutiveFailures: 5 }, openMs: 30_000 };
    if (mode === 'gc' && typeof globalThis.gc !== 'function') {
        console.error('mode gc needs node --expose-gc');
        process.exit(2);
    }
    const how = {
        explicit: method === undefined
            ? 'create() export for each of the round\'s breakers, then free() for each'
            : `new CircuitBreaker() and breaker[${String(method)}]()`,
        dropped: 'new CircuitBreaker(), let go (no forced GC)',
        gc: 'new CircuitBreaker(), let go, gc() after the round',
    }[mode];
    console.log(`mode ${mode}: ${how}; ${rounds} rounds of ${breakers} breakers`);
    console.log('| round | ms | wasm memory (bytes) |');
    console.log('|---:|---:|---:|');
    let keep; // the last breaker, so the loop is not optimised away
    const times = [];
    for (let r = 1; r <= rounds; r++) {
        const t0 = performance.now();
        if (mode === 'explicit') {
            // All of the round's breakers live at once, then all are freed.
            if (method === undefined) {
                const handles = new Uint32Array(breakers);
                for (let i = 0; i < breakers; i++) {
                    handles[i] = exports.create(0, 0, 0);
                    if (handles[i] === 0) throw new Error('create refused the default configuration');
                }
                for (let i = 0; i < breakers; i++) exports.free(handles[i]);
            } else {
                const live = [];
                for (let i = 0; i < breakers; i++) live.push(new CircuitBreaker(options));
                for (const b of live) b[method]();
                keep = live.pop();
            }
        } else {
            for (let i = 0; i < breakers; i++) keep = new CircuitBreaker(options);
            if (mode === 'gc') globalThis.gc();
        }
        // Let the FinalizationRegistry's cleanup (the frees) run.
        await new Promise((resolve) => setImmediate(resolve));
        const ms = performance.now() - t0;
        times.push(ms);
        console.log(`| ${r} | ${ms.toFixed(0)} | ${memory()} |`);
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(
        `min ${sorted[0].toFixed(0)} ms, median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms, max ${sorted[sorted.length - 1].toFixed(0)} ms; last breaker ${keep === undefined ? 'none' : keep.state}`,
    );
}

async function main() {
    const rounds = int('--rounds', 10);
    const breakers = int('--breakers', 100_000);
    const mode = arg('--mode', undefined);
    console.log(`node ${process.version}`);
    if (mode !== undefined) {
        if (!MODES.includes(mode)) {
            console.error(`--mode must be one of ${MODES.join(', ')}, got ${mode}`);
            process.exit(2);
        }
        await runMode(mode, rounds, breakers);
        return;
    }
    const self = fileURLToPath(import.meta.url);
    let failed = false;
    for (const m of MODES) {
        const flags = m === 'gc' ? ['--expose-gc'] : [];
        const child = spawnSync(
            process.execPath,
            [...flags, self, '--mode', m, '--rounds', String(rounds), '--breakers', String(breakers)],
            { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' },
        );
        process.stdout.write(child.stdout.split('\n').slice(1).join('\n') + '\n');
        if (child.status !== 0) failed = true;
    }
    if (failed) process.exit(1);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
