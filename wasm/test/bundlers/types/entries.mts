// The types of halfopen/init and halfopen/inline: what must compile, and
// (@ts-expect-error) what must not. Checked by tsc in ../bundlers.test.mjs.
import { init, initSync, CircuitBreaker, BrokenCircuitError, type InitInput } from 'halfopen/init';
import { ready, CircuitBreaker as InlineBreaker } from 'halfopen/inline';

await init();
await init('/assets/halfopen_bg.wasm');
await init(new URL('https://cdn.example/halfopen_bg.wasm'));
await init(new Request('/halfopen_bg.wasm'));
await init(fetch('/halfopen_bg.wasm'));
await init(new Uint8Array(8));
await init(new ArrayBuffer(8));
await init(new WebAssembly.Module(new Uint8Array(8)));
initSync(new Uint8Array(8));
initSync(new WebAssembly.Module(new Uint8Array(8)));
const input: InitInput = 'halfopen_bg.wasm';
void input;

// @ts-expect-error a number is not where the .wasm is
await init(42);
// @ts-expect-error initSync cannot fetch: bytes or a Module only
initSync('/halfopen_bg.wasm');
// @ts-expect-error init resolves with nothing to use
const nothing: number = await init();
void nothing;

await ready;
const a: CircuitBreaker = new CircuitBreaker({ trip: { consecutiveFailures: 3 } });
const b = new InlineBreaker();
const isBroken = (e: unknown) => e instanceof BrokenCircuitError;
void a;
void b;
void isBroken;
// @ts-expect-error ready is a promise, not a function
ready();
