// The example page (examples/page) in headless Chromium: it loads the built
// package from dist/, a failure burst opens its breaker, healthy calls close
// it again, and the timeline shows closed -> open -> halfOpen -> closed.
// Nothing here asserts timing: the test clicks and waits for states.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openChromium } from './chromium.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..'); // wasm: examples/page and dist/
const output = process.env.HALFOPEN_TEST_OUTPUT ?? join(here, '..', 'output');
const WAIT = { timeout: 30_000 };

test('the example page shows a breaker go closed -> open -> halfOpen -> closed', async () => {
    const { page, errors, url, close } = await openChromium({
        root,
        allow: (path) => path.startsWith('/examples/') || path.startsWith('/dist/'),
        viewport: { width: 1000, height: 1100 },
    });
    try {
        await page.goto(url('/examples/page/index.html'));
        await page.waitForSelector('body[data-ready=true]', WAIT);
        const states = () => page.$$eval('#timeline li', (lis) => lis.map((li) => li.dataset.state));

        // A preset fills the form; an invalid configuration is refused with the option's name.
        await page.selectOption('#preset', 'realtime');
        assert.equal(await page.inputValue('#openMs'), '10000');
        await page.selectOption('#preset', 'custom');
        await page.fill('#openMs', '0');
        await page.click('#apply');
        assert.match(await page.textContent('#error'), /openMs/);

        // A short open period, so that the way back is quick.
        await page.fill('#consecutiveFailures', '3');
        await page.fill('#openMs', '700');
        await page.fill('#timeoutMs', '300');
        await page.click('#apply');
        assert.equal(await page.textContent('#error'), '');
        assert.deepEqual(await states(), ['closed']);

        // A failure burst opens it.
        await page.click('#failing');
        await page.click('#burst');
        await page.waitForFunction(() => document.getElementById('state').textContent === 'open', null, WAIT);
        assert.deepEqual(await states(), ['closed', 'open']);
        // The burst's ten calls were all let through while closed: ten failures.
        await page.waitForFunction(() => document.querySelectorAll('#window rect[data-outcome=failure]').length === 10, null, WAIT);
        await page.waitForFunction(() => /halfopen_state\{name="downstream",state="open"\} 1/.test(document.getElementById('metrics').textContent), null, WAIT);
        assert.equal(await page.textContent('#health'), 'critical');

        // Healthy again, with steady traffic: a trial call closes it.
        await page.click('#healthy');
        await page.click('#auto');
        await page.waitForFunction(
            () => [...document.querySelectorAll('#timeline li')].map((li) => li.dataset.state).join(',') === 'closed,open,halfOpen,closed',
            null,
            WAIT,
        );
        await page.click('#auto');
        await page.waitForFunction(() => /halfopen_recovery_attempts_total\{name="downstream"\} 1/.test(document.getElementById('metrics').textContent), null, WAIT);
        const metrics = await page.textContent('#metrics');
        assert.match(metrics, /halfopen_transitions_total\{name="downstream",from="halfOpen",to="closed"\} 1/);
        assert.match(metrics, /halfopen_failures_total\{name="downstream"\} 10/);
        assert.equal(await page.textContent('#state'), 'closed');
        assert.ok((await page.$$('#timelineChart rect')).length >= 4);

        // A slow downstream: the call times out (timeoutMs 300) and shows as a timeout.
        await page.click('#slow');
        await page.click('#call');
        await page.waitForFunction(() => document.querySelectorAll('#window rect[data-outcome=timeout]').length === 1, null, WAIT);
        assert.deepEqual(await states(), ['closed', 'open', 'halfOpen', 'closed'], 'one timeout does not trip 3 in a row');

        await mkdir(output, { recursive: true });
        await page.screenshot({ path: join(output, 'example-page.png'), fullPage: true });
        assert.deepEqual(errors, []);
    } finally {
        await close();
    }
});
