// Browser (and bundler) entry. The .wasm is fetched beside this file
// (webpack and Vite recognise the `new URL(..., import.meta.url)` pattern and
// emit it as an asset; esbuild does not, see the README) and instantiated with
// streaming compilation; top-level await makes the exports usable as soon as
// the import resolves. A failed fetch names the URL and the fix; evaluated in
// Cloudflare Workers (the workerd condition forgotten), it says so.
import { init } from './init.js';
import { assertNotWorkers } from './workers-guard.js';

assertNotWorkers("the entry 'halfopen'");
const url = new URL('./halfopen_bg.wasm', import.meta.url);
await init(url); // IIFE? es2020? use halfopen/inline or halfopen/init

export * from './breaker.js';
