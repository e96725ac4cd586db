import { CircuitBreaker } from 'halfopen';

const out = document.getElementById('out');
try {
    const b = new CircuitBreaker();
    const results = [];
    results.push(await b.execute(async () => 'async'));
    results.push(await b.execute(() => 'sync'));
    window.__result = { ok: true, results };
} catch (e) {
    window.__result = { ok: false, error: String(e && e.stack || e) };
}
out.textContent = JSON.stringify(window.__result);
