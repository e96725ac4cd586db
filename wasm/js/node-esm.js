// Node entry for bundlers (the `module` condition, which esbuild, webpack,
// Rollup and Vite resolve and Node itself does not): ES modules only, no
// `require`, no file read. The WebAssembly module is carried as base64
// (wasm-base64.js) and compiled synchronously, so a Node bundle, CommonJS or
// ES module, runs wherever it is copied. Node itself loads node.mjs /
// node.cjs, which share one instance between `import` and `require`.
import { initSync } from './halfopen.js';
import { WASM_BASE64 } from './wasm-base64.js';

initSync({ module: Buffer.from(WASM_BASE64, 'base64') });

export * from './breaker.js';
