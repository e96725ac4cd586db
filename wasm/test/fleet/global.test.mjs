// Nothing of halfopen/fleet runs at module scope (Workers forbid timers,
// random numbers and I/O outside a request): importing it, and even
// building a FleetBreaker, with those globals made to throw, starts
// nothing; the first call starts the exchanges with the store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

const PROGRAM = `
const forbidden = [];
const trap = (what) => (...args) => { forbidden.push(what); throw new Error(what + ' at global scope'); };
const saved = { setTimeout, setInterval, random: Math.random, fetch: globalThis.fetch, getRandomValues: crypto.getRandomValues };
globalThis.setTimeout = trap('setTimeout');
globalThis.setInterval = trap('setInterval');
Math.random = trap('Math.random');
globalThis.fetch = trap('fetch');
crypto.getRandomValues = trap('crypto.getRandomValues');
const calls = [];
const store = {
  timers: true,
  read: async (n) => { calls.push('read'); return { nowMs: 1000, gen: '', record: null, config: null, counts: [] }; },
  write: async () => { calls.push('write'); return { written: true, nowMs: 1000 }; },
  count: async () => { calls.push('count'); throw new Error('unused'); },
};
const { FleetBreaker } = await import('halfopen/fleet');
const fleet = new FleetBreaker({ name: 'lazy', store, trip: { consecutiveFailures: 3 } });
await new Promise((r) => queueMicrotask(r));
const before = calls.length;
globalThis.setTimeout = saved.setTimeout;
globalThis.setInterval = saved.setInterval;
Math.random = saved.random;
globalThis.fetch = saved.fetch;
crypto.getRandomValues = saved.getRandomValues;
await fleet.execute(() => 1);
await fleet.flush();
await fleet.close();
console.log(JSON.stringify({ forbidden, before, after: calls }));
`;

test('importing halfopen/fleet and building a FleetBreaker runs no timer, random number or I/O; the first call starts it', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', PROGRAM], { cwd: join(here, '..'), encoding: 'utf8' });
    const { forbidden, before, after } = JSON.parse(out.trim().split('\n').at(-1));
    assert.deepEqual(forbidden, []);
    assert.equal(before, 0, 'no store call before the first use');
    assert.equal(after[0], 'read', 'the first call reads the record');
    assert.equal(after.at(-1), 'write', 'and the first instance writes the configuration');
});
