/** Placeholder types: replaced by the real API when the core lands. */
export interface CallContext {
    readonly signal: AbortSignal;
}
export declare class CircuitBreaker {
    execute<T>(fn: (ctx: CallContext) => T | PromiseLike<T>): Promise<T>;
    readonly calls: number;
}
