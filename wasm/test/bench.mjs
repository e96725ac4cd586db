#!/usr/bin/env node
// Side-by-side benchmark of protecting an async call that resolves at once:
//
//   direct                 await fn()
//   floor                  await fn(), with one no-op reaction added to its promise
//   halfopen execute       await breaker.execute(fn)
//   halfopen tryAcquire    const p = breaker.tryAcquire(); await fn(); p.success()
//   opossum 10 fire        await breaker.fire()
//   cockatiel 4 execute    await policy.execute(fn)
//
// All in one process, in interleaved rounds; the median of the rounds is
// reported per case, in ns per call, with the ratios the budgets of DESIGN.md
// are written against. Every breaker has a consecutive-failure policy and no
// timeout (opossum's default 10 s timeout arms a timer per call: it is off).
//
//   node bench.mjs [--rounds N] [--calls N] [--sizes TARBALL]
//
// --sizes also prints the .wasm size (raw, gzip -9) of the installed package
// and the packed tarball sizes of halfopen (TARBALL), opossum and cockatiel
// (`npm pack --dry-run`, which asks the npm registry).
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CircuitBreaker } from 'halfopen';
import Opossum from 'opossum';
import { circuitBreaker, ConsecutiveBreaker, handleAll } from 'cockatiel';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
    const i = args.indexOf(name);
    return i < 0 ? fallback : args[i + 1];
};
const ROUNDS = Number(arg('--rounds', 11));
const CALLS = Number(arg('--calls', 200_000));
const require = createRequire(import.meta.url);
const version = (name) => JSON.parse(readFileSync(join(dirname(require.resolve(`${name}/package.json`)), 'package.json'), 'utf8')).version;

const fn = async () => 1;

const halfopen = new CircuitBreaker({ trip: { consecutiveFailures: 5 }, openMs: 30_000 });
const opossum = new Opossum(fn, { timeout: false, resetTimeout: 30_000, errorThresholdPercentage: 50 });
const cockatiel = circuitBreaker(handleAll, { halfOpenAfter: 30_000, breaker: new ConsecutiveBreaker(5) });

// The least any wrapper that records the outcome can add: one more reaction
// on the operation's promise (a no-op one, its handlers allocated once).
const noop = () => {};
const cases = {
    direct: async () => {
        for (let i = 0; i < CALLS; i++) await fn();
    },
    'direct + one no-op then (floor)': async () => {
        for (let i = 0; i < CALLS; i++) {
            const p = fn();
            p.then(noop, noop);
            await p;
        }
    },
    'halfopen execute': async () => {
        for (let i = 0; i < CALLS; i++) await halfopen.execute(fn);
    },
    'halfopen tryAcquire+success': async () => {
        for (let i = 0; i < CALLS; i++) {
            const permit = halfopen.tryAcquire();
            await fn();
            permit.success();
        }
    },
    [`opossum ${version('opossum')} fire`]: async () => {
        for (let i = 0; i < CALLS; i++) await opossum.fire();
    },
    [`cockatiel ${version('cockatiel')} execute`]: async () => {
        for (let i = 0; i < CALLS; i++) await cockatiel.execute(fn);
    },
};

// Warm up every case (JIT tiers), then measure in interleaved rounds.
for (const body of Object.values(cases)) await body();
const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let r = 0; r < ROUNDS; r++) {
    for (const [name, body] of Object.entries(cases)) {
        const t0 = process.hrtime.bigint();
        await body();
        samples[name].push(Number(process.hrtime.bigint() - t0) / CALLS);
    }
}
const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const med = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
const names = Object.keys(cases);
const direct = med.direct;
const execute = med['halfopen execute'];

console.log(`node ${process.version}, ${ROUNDS} rounds of ${CALLS} calls, median ns per call\n`);
console.log('| case | ns/call | vs direct | vs halfopen execute |');
console.log('|---|---:|---:|---:|');
for (const name of names) {
    console.log(`| ${name} | ${med[name].toFixed(1)} | ${(med[name] / direct).toFixed(2)}x | ${(med[name] / execute).toFixed(2)}x |`);
}
const opossumName = names.find((n) => n.startsWith('opossum'));
const cockatielName = names.find((n) => n.startsWith('cockatiel'));
console.log('\nbudgets (DESIGN.md):');
const budget = (what, ok) => console.log(`- ${what}: ${ok ? 'met' : 'MISSED'}`);
const floor = med['direct + one no-op then (floor)'];
budget(`execute <= 1.25x the floor (a direct await plus one promise reaction): ${(execute / floor).toFixed(2)}x`, execute / floor <= 1.25);
budget(`>= 2x faster than cockatiel: ${(med[cockatielName] / execute).toFixed(2)}x`, med[cockatielName] / execute >= 2);
budget(`>= 5x faster than opossum: ${(med[opossumName] / execute).toFixed(2)}x`, med[opossumName] / execute >= 5);

const tarball = arg('--sizes', undefined);
if (tarball !== undefined) {
    const wasm = readFileSync(join(dirname(require.resolve('halfopen/package.json')), 'dist', 'halfopen_bg.wasm'));
    const gz = gzipSync(wasm, { level: 9 }).length;
    console.log(`\n.wasm: ${wasm.length} bytes raw, ${gz} bytes gzip -9 (budget 25 KB raw, 12 KB gzip: ${wasm.length <= 25_000 && gz <= 12_000 ? 'met' : 'MISSED'})`);
    const packed = (spec) => {
        const [info] = JSON.parse(execFileSync('npm', ['pack', spec, '--dry-run', '--json', '--silent'], { encoding: 'utf8' }));
        return info;
    };
    console.log('\n| package | tarball | unpacked | files |');
    console.log('|---|---:|---:|---:|');
    const own = packed(tarball);
    console.log(`| halfopen ${own.version} | ${statSync(tarball).size} | ${own.unpackedSize} | ${own.entryCount} |`);
    for (const name of ['opossum', 'cockatiel']) {
        const info = packed(`${name}@${version(name)}`);
        console.log(`| ${name} ${info.version} | ${info.size} | ${info.unpackedSize} | ${info.entryCount} |`);
    }
}
