'use strict';
// Node entry (CommonJS; the ESM entry node.mjs re-exports this one, so a
// program that both imports and requires the package gets one instance and
// one set of error classes). The WebAssembly module is carried in the package
// as base64 too (wasm-base64.cjs) and compiled synchronously from it: no file
// is read at run time and no Node built-in is required, so a bundle of a Node
// program (CommonJS or ES module) works without copying the .wasm beside it.
const { initSync } = require('./halfopen.cjs');
const { WASM_BASE64 } = require('./wasm-base64.cjs');

initSync({ module: Buffer.from(WASM_BASE64, 'base64') });

module.exports = require('./breaker.cjs');
