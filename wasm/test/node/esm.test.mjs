import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as halfopen from 'halfopen';

test('ESM import runs a breaker', async () => {
    const b = new halfopen.CircuitBreaker();
    assert.equal(await b.execute(async () => 42), 42);
    assert.equal(await b.execute(() => 'sync'), 'sync');
});

test('import and require share one instance', () => {
    const require = createRequire(import.meta.url);
    assert.equal(require('halfopen').CircuitBreaker, halfopen.CircuitBreaker);
});
