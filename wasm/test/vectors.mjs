#!/usr/bin/env node
// Runs conformance vector files (the format of SPEC.md) through the public JS API of the
// installed `halfopen` package, with the `clock` option set to each step's
// `at`. An `adopt` step is `adopt()`; a `restart` step is `snapshot()` and
// `CircuitBreaker.restore()` with the same options (`sameClock` as the step
// says). Every call goes through `execute`: an acquire is an operation whose
// promise the vector settles later (success: it resolves; failure: it
// rejects; ignore: it rejects with an error `isFailure` declines; drop: the
// call is cancelled through its `signal`), and a rejection's reason is the
// `reason` of the error `execute` rejects with.
//
//   node vectors.mjs FILE...
//
// Prints `ok NAME` or `FAIL NAME: step I: expected X, got Y` per case, then
// `N passed, N failed`; exits non-zero on any failure. It reads a file as the
// host runner does (tests/src/model.rs) and prints the same lines: the
// agreement check (tests/selftest/agree.sh) runs both on a failing file.
// The case-running core is vectors-core.mjs, which workerd and Chromium run too.
import { readFileSync } from 'node:fs';
import * as halfopen from 'halfopen';
import { runCaseLines } from './vectors-core.mjs';

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
    const counts = await runCaseLines(cases, halfopen, (line) => console.log(line));
    passed += counts.passed;
    failed += counts.failed;
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
