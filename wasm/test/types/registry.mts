// Typed usage of Registry, health, metricsText and the per-call events:
// checked by `tsc --noEmit -p types` (never run).
import {
    CircuitBreaker,
    CircuitBreakerEvent,
    Registry,
    type BreakerReport,
    type CircuitBreakerEventType,
    type Health,
    type PresetName,
} from 'halfopen';

const registry = new Registry({ defaults: 'httpApi' });
new Registry({ defaults: { trip: { consecutiveFailures: 3 }, openMs: 1_000 } });
new Registry();
// @ts-expect-error: not a preset
new Registry({ defaults: 'databse' });
// @ts-expect-error: not an option
new Registry({ default: 'httpApi' });

const b: CircuitBreaker<unknown> = registry.get('search');
registry.get('db', 'database');
registry.get('api', { openMs: 5_000, timeoutMs: 1_000 });
// @ts-expect-error: not a preset
registry.get('x', 'nope');
// @ts-expect-error: a name is a string
registry.get(1);

const preset: PresetName = 'keyVault';
registry.get('vault', preset);
const h: Health = registry.health();
const h2: Health = registry.health('search');
const h3: Health = b.health();
// @ts-expect-error: health is one of three strings
const bad: Health = 'ok';
const report: BreakerReport[] = registry.report();
const first: string | undefined = report[0]?.name;
const text: string = registry.metricsText();
const type: string = Registry.contentType;
const n: number = registry.size;
const names: string[] = registry.names();
const has: boolean = registry.has('search');
for (const [name, breaker] of registry) {
    const s: string = name;
    const st: 'closed' | 'open' | 'halfOpen' | 'isolated' = breaker.state;
}

const named = new CircuitBreaker({ name: 'payments' });
const nm: string | undefined = named.name;
named.addEventListener('failure', (e) => {
    const ev: CircuitBreakerEvent = e;
    const t: CircuitBreakerEventType = e.type;
    const who: string | undefined = e.name;
    const err: unknown = e.error;
});
named.addEventListener('reject', { handleEvent: (e: CircuitBreakerEvent) => e.error });
named.addEventListener('success', () => {}, { once: true });
named.removeEventListener('success', () => {});
const target: EventTarget = named;
// @ts-expect-error: the name is read-only
named.name = 'other';
// @ts-expect-error: a name is a string
new CircuitBreaker({ name: 3 });

void [h, h2, h3, bad, first, text, type, n, names, has, nm, target];
