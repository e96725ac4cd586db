// Placeholder Worker: counts upstream calls in KV. Replaced by the breaker
// example when the core lands.
import { CircuitBreaker } from 'halfopen';

export default {
    async fetch(request, env) {
        const breaker = new CircuitBreaker();
        const res = await breaker.execute(({ signal }) => fetch('https://upstream.example/data', { signal }));
        const n = Number((await env.BREAKERS.get('count')) ?? '0') + 1;
        await env.BREAKERS.put('count', String(n));
        return new Response(`${res.status} ${n}`);
    },
};
