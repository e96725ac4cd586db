'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { CircuitBreaker, BrokenCircuitError } = require('halfopen');

test('CommonJS require runs a breaker', async () => {
    const b = new CircuitBreaker({ trip: { consecutiveFailures: 1 }, openMs: 60_000 });
    assert.equal(await b.execute(async () => 42), 42);
    await assert.rejects(b.execute(async () => { throw new Error('down'); }), /down/);
    await assert.rejects(b.execute(async () => 1), BrokenCircuitError);
    assert.equal(b.state, 'open');
});

test('breakers are collected without free(): wasm memory stays flat', () => {
    // In a process of its own, with the garbage collector at hand.
    const script = `
        const { CircuitBreaker } = require('halfopen');
        // The module's linear memory, through the glue beside the entry.
        const glue = require(require('node:path').join(require('node:path').dirname(require.resolve('halfopen')), 'halfopen.cjs'));
        const memory = () => glue.initSync().memory.buffer.byteLength;
        const make = () => { for (let i = 0; i < 20000; i++) new CircuitBreaker().tryAcquire().success(); };
        // Finalizers run in tasks of their own: several turns of the event
        // loop let them, even on a loaded machine.
        const settle = async () => { for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 20)); };
        (async () => {
            make(); global.gc(); await settle(); global.gc();
            const before = memory();
            for (let i = 0; i < 5; i++) { make(); global.gc(); await settle(); }
            global.gc(); await settle();
            console.log(memory() - before);
        })();
    `;
    const grown = Number(execFileSync(process.execPath, ['--expose-gc', '-e', script], { cwd: __dirname, encoding: 'utf8' }));
    assert.ok(grown < 4 * 1024 * 1024, `wasm memory grew by ${grown} bytes over 100000 breakers`);
});

test('a half-open permit lost to the garbage collector frees its trial slot', () => {
    const script = `
        const { CircuitBreaker } = require('halfopen');
        let now = 0;
        const b = new CircuitBreaker({ trip: { consecutiveFailures: 1 }, openMs: 10, clock: () => now });
        b.tryAcquire().failure();
        now = 10;
        (() => { b.tryAcquire(); })(); // a trial permit, dropped without an outcome
        const full = b.tryAcquire() === undefined;
        (async () => {
            for (let i = 0; i < 20 && b.metrics().state === 'halfOpen'; i++) {
                global.gc();
                await new Promise((r) => setTimeout(r, 10));
                const p = b.tryAcquire();
                if (p) { p.success(); break; }
            }
            console.log(JSON.stringify({ full, state: b.state }));
        })();
    `;
    const out = execFileSync(process.execPath, ['--expose-gc', '-e', script], { cwd: __dirname, encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out), { full: true, state: 'closed' });
});

test('require: Registry, metricsText and events are the ESM ones', async () => {
    const { Registry, CircuitBreaker, CircuitBreakerEvent } = require('halfopen');
    const registry = new Registry({ defaults: 'database' });
    const b = registry.get('db');
    assert.ok(b instanceof CircuitBreaker && b instanceof EventTarget);
    const seen = [];
    b.addEventListener('success', (e) => seen.push(e instanceof CircuitBreakerEvent && e.name));
    await b.execute(() => 1);
    assert.deepEqual(seen, ['db']);
    assert.match(registry.metricsText(), /^halfopen_successes_total\{name="db"\} 1$/m);
});
