// Registry, health, metricsText and the per-call events, through the
// installed package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker, CircuitBreakerEvent, Registry, presets, BrokenCircuitError, CallTimeoutError } from 'halfopen';

const fail = () => Promise.reject(new Error('boom'));
const ok = () => Promise.resolve('ok');

function testClock(start = 1_000) {
    const clock = () => clock.now;
    clock.now = start;
    return clock;
}

test('get creates a breaker by name once, from a preset or options', () => {
    const registry = new Registry();
    const db = registry.get('orders-db', 'database');
    assert.ok(db instanceof CircuitBreaker);
    assert.equal(db.name, 'orders-db');
    assert.equal(registry.get('orders-db'), db);
    assert.equal(registry.get('orders-db', 'httpApi'), db, 'an existing breaker is returned as it is');
    const api = registry.get('search', { ...presets.httpApi, openMs: 5_000 });
    assert.equal(api.name, 'search');
    assert.equal(registry.size, 2);
    assert.ok(registry.has('search'));
    assert.ok(!registry.has('other'));
    assert.deepEqual(registry.names(), ['orders-db', 'search']);
    assert.deepEqual([...registry].map(([n, b]) => [n, b.name]), [['orders-db', 'orders-db'], ['search', 'search']]);
});

test('delete forgets a breaker: its name, metrics and state; get builds a new one', async () => {
    const registry = new Registry({ defaults: 'criticalService' });
    const old = registry.get('tenant-7');
    registry.get('tenant-8');
    await assert.rejects(old.execute(fail));
    await assert.rejects(old.execute(fail));
    assert.equal(old.state, 'open');
    assert.equal(registry.delete('tenant-7'), true);
    assert.equal(registry.delete('tenant-7'), false, 'a second delete finds nothing');
    assert.equal(registry.delete('never-there'), false);
    assert.ok(!registry.has('tenant-7'));
    assert.equal(registry.size, 1);
    assert.deepEqual(registry.names(), ['tenant-8']);
    assert.doesNotMatch(registry.metricsText(), /tenant-7/);
    assert.equal(registry.health(), 'healthy', 'the open breaker no longer counts');
    assert.throws(() => registry.health('tenant-7'), (e) => e instanceof RangeError && e.key === 'name');
    const fresh = registry.get('tenant-7');
    assert.notEqual(fresh, old);
    assert.equal(fresh.state, 'closed');
    assert.equal(await fresh.execute(ok), 'ok');
    assert.equal(old.state, 'open', 'a breaker still held keeps working on its own');
});

test('registry defaults: a preset name or options, checked at once', async () => {
    const registry = new Registry({ defaults: 'criticalService' });
    const b = registry.get('pay');
    await assert.rejects(b.execute(fail));
    await assert.rejects(b.execute(fail));
    assert.equal(b.state, 'open', 'criticalService trips after 2 failures');
    assert.throws(() => new Registry({ defaults: { openMs: 0 } }), (e) => e instanceof RangeError && e.key === 'openMs');
    assert.throws(() => new Registry({ defaults: 'nope' }), (e) => e instanceof RangeError && e.key === 'preset' && /unknown preset "nope"; the presets are httpApi, database/.test(e.message));
    assert.throws(() => new Registry({ default: {} }), (e) => e instanceof TypeError && /unknown Registry option default/.test(e.message));
});

test('clear errors: unknown preset, bad name, bad options', () => {
    const registry = new Registry();
    assert.throws(() => registry.get('a', 'databse'), (e) => e instanceof RangeError && e.key === 'preset' && /breaker a: unknown preset "databse"; did you mean database\?/.test(e.message));
    assert.throws(() => registry.get(''), (e) => e instanceof RangeError && e.key === 'name' && /name is empty/.test(e.message));
    assert.throws(() => registry.get('has space'), (e) => e instanceof RangeError && e.key === 'name' && /" " at index 3/.test(e.message));
    assert.throws(() => registry.get('x'.repeat(65)), (e) => e instanceof RangeError && /65 characters long: at most 64/.test(e.message));
    assert.throws(() => registry.get(42), (e) => e instanceof TypeError && e.key === 'name' && /must be a string, got 42/.test(e.message));
    assert.throws(() => registry.get('b', { openMs: 70_000_000_000 }), (e) => e instanceof RangeError && e.key === 'openMs');
    assert.throws(() => registry.get('c', { name: 'd' }), (e) => e instanceof RangeError && e.key === 'name');
    assert.throws(() => registry.health('missing'), (e) => e instanceof RangeError && /no breaker named "missing"/.test(e.message));
    assert.equal(registry.size, 0, 'nothing registered on an error');
    assert.throws(() => new CircuitBreaker({ name: 'a/b' }), (e) => e instanceof RangeError && e.key === 'name');
});

test('health per breaker and over the registry, as the core defines it', async () => {
    const clock = testClock();
    const registry = new Registry();
    assert.equal(registry.health(), 'healthy', 'an empty registry is healthy');
    const a = registry.get('a', { trip: { consecutiveFailures: 4 }, openMs: 1_000, clock });
    const w = registry.get('w', { trip: { failureRate: { percent: 50, window: 10, minimumCalls: 4 } }, openMs: 1_000, clock });
    assert.equal(a.health(), 'healthy');
    await assert.rejects(a.execute(fail));
    assert.equal(a.health(), 'healthy', '1 of 4: less than half way');
    await assert.rejects(a.execute(fail));
    assert.equal(a.health(), 'degraded', '2 of 4: half way');
    assert.equal(registry.health('a'), 'degraded');
    assert.equal(registry.health(), 'degraded');
    await w.execute(ok);
    await w.execute(ok);
    await w.execute(ok);
    await w.execute(ok);
    await assert.rejects(w.execute(fail));
    assert.equal(w.health(), 'healthy', '1 of 5 (20 %) is less than half of 50 %');
    await assert.rejects(w.execute(fail));
    assert.equal(w.health(), 'degraded', '2 of 6 (33 %) is at least half of 50 %');
    await w.execute(ok);
    await w.execute(ok);
    await w.execute(ok);
    await w.execute(ok);
    await assert.rejects(a.execute(fail));
    await assert.rejects(a.execute(fail));
    assert.equal(a.state, 'open');
    assert.equal(registry.health(), 'critical');
    clock.now += 1_000;
    assert.equal(a.health(), 'degraded', 'half-open');
    await a.execute(ok);
    assert.equal(a.health(), 'healthy');
    const report = registry.report();
    assert.deepEqual(report.map((r) => [r.name, r.health, r.metrics.state]), [['a', 'healthy', 'closed'], ['w', 'healthy', 'closed']]);
    assert.equal(report[0].metrics.failures, 4);
    a.isolate();
    assert.equal(registry.health(), 'critical');
});

test('metricsText: the Prometheus text format, with the Rust collector\'s names', async () => {
    const clock = testClock();
    const registry = new Registry();
    const a = registry.get('search', { trip: { consecutiveFailures: 2 }, openMs: 4_000, clock });
    registry.get('db', 'database');
    await a.execute(ok);
    await assert.rejects(a.execute(fail));
    await assert.rejects(a.execute(fail));
    await assert.rejects(a.execute(ok), BrokenCircuitError);
    clock.now += 1_500;
    const text = registry.metricsText();
    assert.equal(Registry.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    assert.ok(text.endsWith('\n'));
    const lines = text.split('\n').filter((l) => l !== '');
    for (const l of lines) {
        assert.match(l, /^(# (HELP|TYPE) halfopen_[a-z_]+ .+|halfopen_[a-z_]+\{name="[^"]+"(,[a-z]+="[^"]+")*\} -?[0-9.e+-]+)$/, l);
    }
    const has = (l) => assert.ok(lines.includes(l), `missing: ${l}\n${text}`);
    has('# TYPE halfopen_state gauge');
    has('halfopen_state{name="search",state="open"} 1');
    has('halfopen_state{name="search",state="closed"} 0');
    has('halfopen_state{name="db",state="closed"} 1');
    has('# TYPE halfopen_successes_total counter');
    has('halfopen_successes_total{name="search"} 1');
    has('halfopen_failures_total{name="search"} 2');
    has('halfopen_rejected_total{name="search"} 1');
    has('halfopen_slow_calls_total{name="db"} 0');
    has('halfopen_ignored_total{name="db"} 0');
    has('halfopen_transitions_total{name="search",from="closed",to="open"} 1');
    has('halfopen_recovery_attempts_total{name="search"} 0');
    has('halfopen_retry_after_seconds{name="search"} 2.5');
    has('halfopen_retry_after_seconds{name="db"} 0');
    // Each family once, its samples right after its HELP and TYPE.
    const families = lines.filter((l) => l.startsWith('# TYPE')).map((l) => l.split(' ')[2]);
    assert.deepEqual(families, [
        'halfopen_state', 'halfopen_successes_total', 'halfopen_failures_total', 'halfopen_slow_calls_total',
        'halfopen_ignored_total', 'halfopen_rejected_total', 'halfopen_transitions_total',
        'halfopen_recovery_attempts_total', 'halfopen_retry_after_seconds',
    ]);
    clock.now += 2_500;
    await a.execute(ok);
    const after = registry.metricsText();
    assert.match(after, /^halfopen_recovery_attempts_total\{name="search"\} 1$/m);
    assert.match(after, /^halfopen_transitions_total\{name="search",from="open",to="halfOpen"\} 1$/m);
    assert.match(after, /^halfopen_transitions_total\{name="search",from="halfOpen",to="closed"\} 1$/m);
    assert.match(after, /^halfopen_state\{name="search",state="closed"\} 1$/m);
    assert.equal(new Registry().metricsText().split('\n').filter((l) => !l.startsWith('#') && l !== '').length, 0);
});

test('per-call events: success, failure, reject, fallback, timeout, each with the name', async () => {
    const seen = [];
    const record = (e) => {
        assert.ok(e instanceof CircuitBreakerEvent);
        assert.ok(e instanceof Event);
        seen.push([e.type, e.name, e.error?.constructor.name]);
    };
    const b = new CircuitBreaker({ name: 'payments', trip: { consecutiveFailures: 2 }, openMs: 60_000, timeoutMs: 20, fallback: () => 'cached' });
    for (const type of ['success', 'failure', 'reject', 'timeout', 'fallback']) b.addEventListener(type, record);
    assert.equal(await b.execute(ok), 'ok');
    await assert.rejects(b.execute(() => new Promise(() => {})), CallTimeoutError);
    await assert.rejects(b.execute(fail), /boom/);
    assert.equal(await b.execute(ok), 'cached');
    assert.deepEqual(seen, [
        ['success', 'payments', undefined],
        ['timeout', 'payments', 'CallTimeoutError'],
        ['failure', 'payments', 'Error'],
        ['reject', 'payments', 'BrokenCircuitError'],
        ['fallback', 'payments', 'BrokenCircuitError'],
    ]);
});

test('events on the fast path (no options), from a registry; removeEventListener stops them', async () => {
    const registry = new Registry();
    const b = registry.get('plain', { trip: { consecutiveFailures: 1 }, openMs: 60_000 });
    const seen = [];
    const listener = (e) => seen.push(`${e.type}:${e.name}`);
    await b.execute(ok); // before any listener: no event
    b.addEventListener('success', listener);
    b.addEventListener('failure', listener);
    b.addEventListener('reject', listener);
    await b.execute(ok);
    await b.execute(() => 'sync');
    await assert.rejects(b.execute(fail));
    await assert.rejects(b.execute(ok), BrokenCircuitError);
    b.removeEventListener('reject', listener);
    await assert.rejects(b.execute(ok), BrokenCircuitError);
    assert.deepEqual(seen, ['success:plain', 'success:plain', 'failure:plain', 'reject:plain']);
    assert.equal(new CircuitBreaker().name, undefined);
    // An ignored error (isFailure false) is no failure event.
    const c = new CircuitBreaker({ name: 'c', isFailure: () => false });
    c.addEventListener('failure', listener);
    await assert.rejects(c.execute(fail));
    assert.equal(seen.length, 4);
    const et = new EventTarget();
    assert.ok(c instanceof EventTarget && et instanceof EventTarget);
});
