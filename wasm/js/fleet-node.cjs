'use strict';
// Node entry of halfopen/fleet (CommonJS; fleet-node.mjs re-exports it). The
// base package is loaded first (one CircuitBreaker class per process), then
// the fleet's own WebAssembly module is compiled synchronously from the
// base64 copy carried in the package (fleet-wasm-base64.cjs): like the base
// entry, nothing is read from disk, so bundles need no .wasm beside them.
require('./node.cjs');
const { initSync } = require('./halfopen_fleet.cjs');
const { WASM_BASE64 } = require('./fleet-wasm-base64.cjs');

initSync({ module: Buffer.from(WASM_BASE64, 'base64') });

module.exports = require('./fleet.cjs');
