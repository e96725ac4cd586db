// The functions the WebAssembly module calls back: imported by the
// wasm-bindgen glue (#[wasm_bindgen(module = "/js/hooks.js")] in src/lib.rs).
//
// A breaker in wasm knows its JavaScript side only by a numeric id. Each id
// maps to the breaker's hooks through a WeakRef, so nothing reachable from
// the wasm instance (a GC root) holds a user's clock or listeners: a
// CircuitBreaker that the program drops is collected, and --weak-refs then
// frees its wasm memory, whatever its clock and listeners refer to.
//
// Neither function may throw: an exception must never unwind through wasm
// frames. The hooks objects guarantee that (see breaker.js).

/** @type {Map<number, WeakRef<{ readClock(): number, onTransition(from: number, to: number, epoch: number, cause: number): void }>>} */
const targets = new Map();

const cleanup =
    typeof FinalizationRegistry === 'function' ? new FinalizationRegistry((id) => targets.delete(id)) : undefined;

/** Registers the hooks of breaker `id`; `owner` keeps them alive. */
export function registerHooks(id, owner, hooks) {
    targets.set(id, new WeakRef(hooks));
    cleanup?.register(owner, id);
}

/** The clock reading of breaker `id` (NaN if it has none: the module then keeps its last reading). */
export function readClock(id) {
    const hooks = targets.get(id)?.deref();
    return hooks === undefined ? NaN : hooks.readClock();
}

/** Breaker `id` changed state (state codes: closed, open, halfOpen, isolated; a cause's code). */
export function transition(id, from, to, epoch, cause) {
    targets.get(id)?.deref()?.onTransition(from, to, epoch, cause);
}
