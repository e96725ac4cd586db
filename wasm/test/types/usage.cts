import { CircuitBreaker } from 'halfopen';

const b = new CircuitBreaker();
export const p: Promise<number> = b.execute(() => 1);
