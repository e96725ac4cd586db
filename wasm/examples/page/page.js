// The page's script: one breaker from a Registry, a simulated downstream,
// and an SVG picture of what the breaker does. No framework, no build step.
import { Registry, presets, CircuitBreakerEvent } from 'halfopen';

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
const COLORS = { closed: '#2e7d32', open: '#c62828', halfOpen: '#f9a825', isolated: '#555' };
const OUTCOMES = { success: '#2e7d32', failure: '#c62828', timeout: '#8e24aa', reject: '#9e9e9e', fallback: '#9e9e9e' };
const FIELDS = ['consecutiveFailures', 'openMs', 'halfOpenMaxCalls', 'successThreshold', 'timeoutMs'];
const SPAN_MS = 15_000; // the timeline's width in time

let registry;
let breaker;
let mode = 'healthy';
/** The breaker's timeoutMs: a slow call takes three times as long. */
let timeoutMs = 1_000;
let auto;
/** [{ state, at }]: the breaker's states, from when it was built. */
let timeline = [];
/** The last calls' outcomes. */
let calls = [];

for (const name of Object.keys(presets)) $('preset').append(new Option(name, name));

/** The options the form describes (a preset, or the fields). */
function options() {
    const preset = $('preset').value;
    if (preset !== 'custom') return { ...presets[preset], timeoutMs: presets[preset].timeoutMs ?? 1_000 };
    const v = Object.fromEntries(FIELDS.map((f) => [f, Number($(f).value)]));
    return { trip: { consecutiveFailures: v.consecutiveFailures }, openMs: v.openMs, halfOpenMaxCalls: v.halfOpenMaxCalls, successThreshold: v.successThreshold, timeoutMs: v.timeoutMs };
}

function build() {
    let opts;
    try {
        opts = options();
        const next = new Registry();
        const b = next.get('downstream', opts);
        registry = next;
        breaker = b;
    } catch (e) {
        // The package's error names the option and its range.
        $('error').textContent = e.message;
        return;
    }
    $('error').textContent = '';
    timeoutMs = opts.timeoutMs;
    $('options').textContent = JSON.stringify(opts);
    timeline = [{ state: breaker.state, at: performance.now() }];
    calls = [];
    breaker.onStateChange(({ to }) => {
        timeline.push({ state: to, at: performance.now() });
        render();
    });
    for (const type of Object.keys(OUTCOMES)) {
        breaker.addEventListener(type, (/** @type {CircuitBreakerEvent} */ e) => {
            if (type === 'fallback') return;
            calls.push(type);
            if (calls.length > 40) calls.shift();
        });
    }
    render();
}

/** One call to the simulated downstream, through the breaker. */
function call() {
    const latency = mode === 'slow' ? 3 * timeoutMs : 20;
    const outcome = mode;
    return breaker
        .execute(({ signal }) => new Promise((resolve, reject) => {
            const t = setTimeout(() => (outcome === 'failing' ? reject(new Error('503 from downstream')) : resolve('200 OK')), latency);
            signal.addEventListener('abort', () => clearTimeout(t));
        }))
        .catch(() => undefined)
        .finally(render);
}

function setMode(next) {
    mode = next;
    for (const m of ['healthy', 'failing', 'slow']) $(m).setAttribute('aria-pressed', String(m === mode));
}

function setAuto(on) {
    clearInterval(auto);
    auto = on ? setInterval(call, 200) : undefined;
    $('auto').setAttribute('aria-pressed', String(on));
}

function el(name, attrs, text) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
}

function render() {
    if (breaker === undefined) return;
    const state = breaker.state;
    $('state').textContent = state;
    $('state').className = state;
    $('health').textContent = breaker.health();

    // The timeline: one band per state, the last SPAN_MS.
    const now = performance.now();
    const width = 900;
    const x = (t) => Math.max(0, width - ((now - t) / SPAN_MS) * width);
    const chart = $('timelineChart');
    chart.replaceChildren();
    timeline.forEach((s, i) => {
        const x0 = x(s.at);
        const x1 = i + 1 < timeline.length ? x(timeline[i + 1].at) : width;
        if (x1 <= 0) return;
        chart.append(el('rect', { x: x0, y: 10, width: Math.max(1, x1 - x0), height: 30, fill: COLORS[s.state] }, undefined));
        if (x1 - x0 > 50) chart.append(el('text', { x: x0 + 4, y: 30, fill: '#fff', 'font-size': 12 }, s.state));
    });
    chart.append(el('text', { x: 2, y: 56, 'font-size': 10 }, `${SPAN_MS / 1000} s ago`));
    chart.append(el('text', { x: width - 24, y: 56, 'font-size': 10 }, 'now'));
    const list = $('timeline');
    while (list.children.length < timeline.length) {
        const s = timeline[list.children.length];
        const li = document.createElement('li');
        li.dataset.state = s.state;
        li.textContent = `${s.state} at ${(s.at / 1000).toFixed(2)} s`;
        list.append(li);
    }

    // The window: the last calls as squares.
    const win = $('window');
    win.replaceChildren();
    calls.forEach((c, i) => win.append(el('rect', { x: 900 - (calls.length - i) * 22, y: 6, width: 18, height: 18, fill: OUTCOMES[c], 'data-outcome': c }, undefined)));
    const m = breaker.metrics();
    $('counts').textContent = `failureRun ${m.failureRun ?? '-'}, window ${m.window ? `${m.window.failures}/${m.window.calls}` : '-'}; ` +
        `successes ${m.successes}, failures ${m.failures}, rejected ${m.rejected}, transitions ${m.transitions}`;
    $('metrics').textContent = registry.metricsText();
}

$('apply').addEventListener('click', () => {
    $('timeline').replaceChildren();
    build();
});
$('preset').addEventListener('change', () => {
    const preset = presets[$('preset').value];
    if (preset?.trip.consecutiveFailures !== undefined) $('consecutiveFailures').value = preset.trip.consecutiveFailures;
    for (const f of ['openMs', 'halfOpenMaxCalls', 'successThreshold', 'timeoutMs']) if (preset?.[f] !== undefined) $(f).value = preset[f];
});
for (const m of ['healthy', 'failing', 'slow']) $(m).addEventListener('click', () => setMode(m));
$('call').addEventListener('click', () => call());
$('burst').addEventListener('click', () => {
    for (let i = 0; i < 10; i++) call();
});
$('auto').addEventListener('click', () => setAuto(auto === undefined));
$('reset').addEventListener('click', () => {
    breaker.reset();
    render();
});
build();
setInterval(render, 250);
document.body.dataset.ready = 'true';
