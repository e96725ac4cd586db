'use strict';
// Node entry (CommonJS; the ESM entry node.mjs re-exports this one, so a
// program that both imports and requires the package gets one instance and
// one set of error classes). The WebAssembly module is compiled and
// instantiated synchronously from the bytes beside this file.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { initSync } = require('./halfopen.cjs');

initSync({ module: readFileSync(join(__dirname, 'halfopen_bg.wasm')) });

module.exports = require('./breaker.cjs');
