// What the workerd fleet tests and the fleet benchmark share: the package's
// modules as a bundler would give them to workerd, a coordinator Worker (the
// package's HalfOpenFleet with test hooks) and client Workers built from one
// script, each its own isolate.
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { sleep } from './common.mjs';
import { packageModules } from '../package-modules.mjs';

export { packageModules };

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
export const CLIENTS = 4;
export const THRESHOLD = 5;

// The coordinator: the package's HalfOpenFleet, with test hooks to make it
// fail (throw, or answer after the isolates' deadline) and to restart it.
export const COORDINATOR = `
import { HalfOpenFleet } from 'halfopen/fleet';
const faults = new Map();
export class Fleet extends HalfOpenFleet {
    constructor(state, env) {
        super(state, env);
        this.ctx = state;
        this.requests = 0;
    }
    async fetch(request) {
        const url = new URL(request.url);
        if (url.pathname === '/__fault') {
            const name = url.searchParams.get('name');
            const mode = url.searchParams.get('mode');
            if (mode === 'garbage') await this.ctx.storage.put('record:' + name, { gen: '3', record: 'mode=open;k=77', config: null });
            else faults.set(name, mode);
            return new Response('ok');
        }
        if (url.pathname === '/__restart') {
            this.ctx.abort('restarted by the test');
            return new Response('unreachable');
        }
        if (url.pathname === '/__record') {
            return Response.json({ requests: this.requests, record: (await this.ctx.storage.get('record:' + url.searchParams.get('name'))) ?? null });
        }
        this.requests++;
        const body = await request.clone().json().catch(() => ({}));
        const mode = faults.get(body.name);
        if (mode === 'throw') throw new Error('the coordinator fails');
        if (mode === 'slow') await new Promise((r) => setTimeout(r, 2000));
        return super.fetch(request);
    }
}
export default {
    async fetch(request, env) {
        const url = new URL(request.url);
        const name = url.searchParams.get('name');
        return env.FLEET.get(env.FLEET.idFromName(name)).fetch(request);
    },
};
`;

// A client Worker: the fleet breaker is made lazily, in the first request
// (nothing at global scope but the module counter).
export const CLIENT = `
import { CircuitBreaker } from 'halfopen';
import { durableObjectFleet } from 'halfopen/fleet';
let requests = 0;
let fleets = new Map();
// With local=1: a plain breaker per isolate, for comparison.
const locals = new Map();
function localOf(name, openMs) {
    let b = locals.get(name);
    if (b === undefined) {
        b = new CircuitBreaker({ trip: { consecutiveFailures: ${THRESHOLD} }, openMs });
        b.flush = async () => {};
        b.metrics = ((m) => () => ({ ...m.call(b), fleet: { attached: false } }))(b.metrics);
        locals.set(name, b);
    }
    return b;
}
function fleetOf(env, name, openMs) {
    let f = fleets.get(name);
    if (f === undefined) {
        f = durableObjectFleet(env.FLEET, {
            name, trip: { consecutiveFailures: ${THRESHOLD} }, openMs, syncMs: Number(env.SYNC_MS), deadlineMs: 300, fleet: { leaseMs: 2000 },
        });
        fleets.set(name, f);
    }
    return f;
}
export default {
    async fetch(request, env, ctx) {
        requests++;
        const url = new URL(request.url);
        if (url.pathname === '/whoami') return Response.json({ requests, fleets: fleets.size });
        const name = url.searchParams.get('name');
        const openMs = Number(url.searchParams.get('openMs') ?? 400);
        const fleet = url.searchParams.get('local') === '1' ? localOf(name, openMs) : fleetOf(env, name, openMs);
        let allowed = false;
        if (url.pathname === '/call') {
            const probe = fleet.state === 'halfOpen' ? '1' : '0';
            allowed = await fleet
                .execute(async () => {
                    allowed = true;
                    if (url.searchParams.get('fail') === '1') throw new Error('failed on request');
                    const r = await env.DOWNSTREAM.fetch('http://downstream/', { headers: { 'x-probe': probe } });
                    await r.text();
                    if (r.status >= 500) throw new Error('downstream ' + r.status);
                    return true;
                })
                .then(() => true, () => allowed);
        }
        ctx.waitUntil(fleet.flush());
        return Response.json({ state: fleet.state, allowed, fleet: fleet.metrics().fleet, requests });
    },
};
`;

export function downstreamService() {
    const d = { up: true, closedCalls: 0, probes: 0, probesInFlight: 0, maxProbesInFlight: 0 };
    d.handler = async (request) => {
        if (d.up) return new Response('ok');
        const probe = request.headers.get('x-probe') === '1';
        if (probe) {
            d.probes++;
            d.probesInFlight++;
            d.maxProbesInFlight = Math.max(d.maxProbesInFlight, d.probesInFlight);
        } else d.closedCalls++;
        await sleep(5);
        if (probe) d.probesInFlight--;
        return new Response('down', { status: 500 });
    };
    return d;
}

export function start(d, persist, clients = CLIENTS, syncMs = 50) {
    const modules = packageModules();
    return new Miniflare({
        modulesRoot: root,
        compatibilityDate: '2026-04-01',
        durableObjectsPersist: persist,
        workers: [
            {
                name: 'coord',
                modules: [{ type: 'ESModule', path: join(root, 'coord.js'), contents: COORDINATOR }, ...modules],
                modulesRoot: root,
                compatibilityDate: '2026-04-01',
                durableObjects: { FLEET: 'Fleet' },
            },
            ...Array.from({ length: clients }, (_, i) => ({
                name: `client${i}`,
                modules: [{ type: 'ESModule', path: join(root, 'client.js'), contents: CLIENT }, ...modules],
                modulesRoot: root,
                compatibilityDate: '2026-04-01',
                durableObjects: { FLEET: { className: 'Fleet', scriptName: 'coord' } },
                serviceBindings: { DOWNSTREAM: (request) => d.handler(request) },
                bindings: { SYNC_MS: String(syncMs) },
            })),
        ],
    });
}

export async function client(mf, i, path) {
    const w = await mf.getWorker(`client${i}`);
    const r = await w.fetch(`http://client/${path}`);
    return r.json();
}

export async function coordinator(mf, path) {
    const w = await mf.getWorker('coord');
    const r = await w.fetch(`http://coord/${path}`);
    return path.startsWith('__record') ? r.json() : r.text();
}

