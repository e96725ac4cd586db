// A Node-only project: Node's types, no DOM library. halfopen/init's types
// need no DOM declarations (WebAssembly.Module, Request and Response are
// looked up on globalThis). Checked by tsc in ../bundlers.test.mjs.
import { readFileSync } from 'node:fs';
import { init, initSync, CircuitBreaker, type InitInput } from 'halfopen/init';
import { ready } from 'halfopen/inline';

const bytes = readFileSync('halfopen_bg.wasm');
await init();
await init(bytes);
await init(new URL('file:///halfopen_bg.wasm'));
await init(new Response(bytes));
initSync(bytes);
const input: InitInput = 'halfopen_bg.wasm';
void input;
await ready;
void new CircuitBreaker();
// @ts-expect-error a number is not where the .wasm is
await init(42);
// @ts-expect-error initSync cannot fetch: bytes or a Module only
initSync('halfopen_bg.wasm');

// halfopen/fleet's types too.
import { FleetBreaker, type FleetBreakerOptions } from 'halfopen/fleet';
declare const fleetOptions: FleetBreakerOptions;
void new FleetBreaker(fleetOptions);
