// Placeholder layer: replaced by the real CircuitBreaker when the core lands.
import { WasmBreaker } from './halfopen.js';

export class CircuitBreaker {
    #inner = new WasmBreaker();

    /** Runs `fn` and returns its result; counts the call. */
    async execute(fn) {
        this.#inner.acquire(Date.now());
        return await fn({ signal: new AbortController().signal });
    }

    /** Number of calls so far. */
    get calls() {
        return this.#inner.acquire(Date.now()) - 1;
    }
}
