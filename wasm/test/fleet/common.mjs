// What the fleet tests share: a downstream that counts what reaches it, and
// worker processes.
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export const REDIS_URL = process.env.HALFOPEN_REDIS_URL;

/** A unique breaker name per run. */
export function unique(prefix) {
    return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}`;
}

/**
 * An HTTP downstream that is up or down. While down it answers 500 after
 * 5 ms and counts what reached it: calls made by a closed breaker, and
 * probes (a worker marks a call made while its breaker read half-open with
 * `x-probe: 1`), with the most probes it ever had in flight at once.
 */
export async function downstream() {
    const d = { up: true, requests: 0, whileDown: [], closedCalls: 0, probes: 0, probesInFlight: 0, maxProbesInFlight: 0, server: undefined, url: '' };
    d.server = createServer((req, res) => {
        d.requests++;
        if (d.up) {
            res.end('ok');
            return;
        }
        d.whileDown.push(performance.now());
        const probe = req.headers['x-probe'] === '1';
        if (probe) {
            d.probes++;
            d.probesInFlight++;
            d.maxProbesInFlight = Math.max(d.maxProbesInFlight, d.probesInFlight);
        } else {
            d.closedCalls++;
        }
        setTimeout(() => {
            if (probe) d.probesInFlight--;
            res.statusCode = 500;
            res.end('down');
        }, 5);
    });
    d.server.keepAliveTimeout = 1;
    d.server.listen(0, '127.0.0.1');
    await once(d.server, 'listening');
    d.url = `http://127.0.0.1:${d.server.address().port}/`;
    /** Requests while down, in groups separated by `gapMs` of quiet (the first: calls before the fleet rejected; then each half-open period's probes). */
    d.groups = (gapMs) => {
        const groups = [];
        let last;
        for (const t of [...d.whileDown].sort((a, b) => a - b)) {
            if (last !== undefined && t - last < gapMs) groups[groups.length - 1]++;
            else groups.push(1);
            last = t;
        }
        return groups;
    };
    d.close = () => new Promise((r) => d.server.close(r));
    return d;
}

/** Starts worker processes and waits until every one printed READY. */
export async function workers(mode, name, url, pauses, redisUrl = REDIS_URL) {
    const procs = pauses.map((pause) => {
        const p = spawn(process.execPath, [join(here, 'worker.mjs'), mode, redisUrl, name, url, String(pause)], {
            stdio: ['pipe', 'pipe', 'inherit'],
            cwd: join(here, '..'),
        });
        p.lines = [];
        const rl = createInterface({ input: p.stdout });
        p.ready = new Promise((resolve, reject) => {
            rl.on('line', (l) => {
                p.lines.push(l);
                if (l === 'READY') resolve();
            });
            p.on('exit', (code) => reject(new Error(`worker exited with ${code} before READY`)));
        });
        p.done = once(p, 'exit');
        return p;
    });
    await Promise.all(procs.map((p) => p.ready));
    return {
        procs,
        async stop() {
            for (const p of procs) p.stdin.end('stop\n');
            const codes = await Promise.all(procs.map((p) => p.done));
            return procs.map((p, i) => ({ code: codes[i][0], lines: p.lines }));
        },
    };
}

/** Polls `f` every 10 ms until it is true, for at most `ms`. */
export async function eventually(ms, what, f) {
    const end = Date.now() + ms;
    for (;;) {
        if (await f()) return;
        if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
        await new Promise((r) => setTimeout(r, 10));
    }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
