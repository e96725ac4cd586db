// Node entry of halfopen/fleet for bundlers (the `module` condition; see
// node-esm.js): the base package's bundler entry first (one CircuitBreaker
// class per bundle), then the fleet's WebAssembly module, compiled
// synchronously from its base64 copy (fleet-wasm-base64.js).
import './node-esm.js';
import { initSync } from './halfopen_fleet.js';
import { WASM_BASE64 } from './fleet-wasm-base64.js';

initSync({ module: Buffer.from(WASM_BASE64, 'base64') });

export * from './fleet.js';
