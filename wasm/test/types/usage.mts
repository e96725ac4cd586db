import { CircuitBreaker } from 'halfopen';

const b = new CircuitBreaker();
const n: number = await b.execute(async ({ signal }) => (signal.aborted ? 0 : 1));
// @ts-expect-error the result type is inferred from the function
const s: string = await b.execute(async () => 1);
export { n, s };
