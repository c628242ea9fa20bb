import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[] }>;
}

async function violations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: axePath });
  const found = await page.evaluate(async () => {
    const w = window as unknown as {
      axe: { run(ctx: Document, o: object): Promise<{ violations: AxeViolation[] }> };
    };
    const r = await w.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa'] } });
    return r.violations;
  });
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
