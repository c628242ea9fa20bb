import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  chromiumPath,
  OPERATOR_TOKEN,
  pressKeys,
  startConsoleFixture,
  type ConsoleFixture,
} from './console-fixture.js';

// The console's pages checked for accessibility problems (WCAG 2 A and AA rules of axe-core: labels,
// names, contrast, landmarks, …) as a screen reader or keyboard user would meet them. The pages' own
// Content-Security-Policy would refuse the injected checker, so this browser context bypasses it.

const exe = chromiumPath();
if (!exe) process.stdout.write('console accessibility checks skipped: no chromium\n');
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

const WCAG = ['wcag2a', 'wcag2aa', 'wcag21aa'];
const axeViolations = z.array(
  z.object({
    id: z.string(),
    impact: z.string().nullable(),
    help: z.string(),
    nodes: z.array(z.object({ target: z.array(z.unknown()) })),
  }),
);

/** axe-core's WCAG 2 A/AA findings on the page, one line each. Run as page script text (no DOM types here). */
async function violations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: axePath });
  const found = axeViolations.parse(
    await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(WCAG)} } })
      .then((r) => r.violations)`),
  );
  return found.map((v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
}

describe.skipIf(!exe)('console accessibility', () => {
  let fx: ConsoleFixture;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    fx = await startConsoleFixture();
    browser = await chromium.launch({ executablePath: exe ?? undefined, args: ['--no-sandbox'] });
    page = await (await browser.newContext({ bypassCSP: true })).newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await fx?.stop();
  });

  it('has no WCAG A/AA violations on the sign-in, live, calls, call and merchant pages', async () => {
    await page.goto(`${fx.origin}/console/sign-in`);
    const problems: string[] = (await violations(page)).map((v) => `sign-in: ${v}`);
    await page.getByLabel('Console token or sign-in link').fill(OPERATOR_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Live calls' }).waitFor();
    const caller = await fx.dial('demo');
    await caller.waitFor((c) => c.hearing, 15_000, 'the greeting');
    await page.locator('#live-rows tr').first().waitFor();
    problems.push(...(await violations(page)).map((v) => `live: ${v}`));
    await caller.waitFor((c) => !c.hearing && c.queuedPlaybackBytes === 0, 20_000, 'the greeting to end');
    await pressKeys(caller, '5');
    await caller.hangUp();
    for (const [name, path] of [
      ['calls', '/console/calls'],
      ['call', `/console/calls/${caller.callSid}`],
      ['merchant', '/console/merchants/demo'],
      ['merchants', '/console/merchants'],
      ['bad request', '/console/calls?from=nope'],
    ] as const) {
      await page.goto(`${fx.origin}${path}`);
      problems.push(...(await violations(page)).map((v) => `${name}: ${v}`));
    }
    expect(problems).toEqual([]);
  });
});
