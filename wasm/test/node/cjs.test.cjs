'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { CircuitBreaker } = require('halfopen');

test('CommonJS require runs a breaker', async () => {
    const b = new CircuitBreaker();
    assert.equal(await b.execute(async () => 42), 42);
});
