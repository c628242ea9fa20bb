import { mkdir } from 'node:fs/promises';
import { chromium, type Page } from 'playwright-core';
import {
  chromiumPath,
  OPERATOR_TOKEN,
  pressKeys,
  speakAndBargeIn,
  startConsoleFixture,
} from '../test/browser/console-fixture.js';

// npm run console:screenshots: the README's pictures of the console, taken from a real relay with
// simulated calls (test/browser/console-fixture.ts) in Debian's chromium, so they show what the
// current code draws. Writes docs/console-*.png.

const OUT = 'docs';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${OUT}/console-${name}.png`, fullPage: true });
  process.stdout.write(`wrote ${OUT}/console-${name}.png\n`);
}

async function main(): Promise<void> {
  const exe = chromiumPath();
  if (!exe) throw new Error('no chromium: apt-get install -y chromium (or set CHROMIUM_PATH)');
  await mkdir(OUT, { recursive: true });
  const fx = await startConsoleFixture();
  const browser = await chromium.launch({ executablePath: exe, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, deviceScaleFactor: 1 });
    await page.goto(`${fx.origin}/console/sign-in`);
    await shot(page, 'sign-in');
    await page.getByLabel('Console token or sign-in link').fill(OPERATOR_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Live calls' }).waitFor();

    // A finished call with a barge-in and a tool call, for the call page.
    const first = await fx.dial('demo');
    await speakAndBargeIn(first);
    await pressKeys(first, '42');
    await first.hangUp();

    // A live call for the live page, caught while the assistant speaks.
    const live = await fx.dial('demo', '+14155550188');
    const second = await fx.dial('bikes', '+12125550123');
    await live.waitFor((c) => c.hearing, 15_000, 'the greeting');
    await page
      .locator('#chart-state', { hasText: 'speaking' })
      .or(page.locator('#chart-state', { hasText: 'greeting' }))
      .waitFor();
    await sleep(1500);
    await shot(page, 'live');
    await live.hangUp();
    await second.hangUp();
    await sleep(1500);

    await page.goto(`${fx.origin}/console/calls`);
    await shot(page, 'calls');
    await page.goto(`${fx.origin}/console/calls/${encodeURIComponent(first.callSid)}`);
    await page.locator('svg.timeline').waitFor();
    await shot(page, 'call');
    // The merchant page with its calendar connected through the imitation of Google's consent page.
    await page.goto(`${fx.origin}/console/merchants/demo`);
    await page.getByRole('button', { name: 'Connect Google Calendar' }).click();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByLabel('Front desk').check();
    await page.getByRole('button', { name: 'Use this calendar' }).click();
    await page.locator('#calendar-check').waitFor();
    await shot(page, 'merchant');
    const phone = await browser.newPage({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 1,
      isMobile: true,
    });
    await phone.goto(fx.links.demo);
    await phone.getByRole('heading', { name: 'Live calls' }).waitFor();
    await phone.goto(`${fx.origin}/console/merchants/demo`);
    await shot(phone, 'phone');
  } finally {
    await browser.close();
    await fx.stop();
  }
}

await main();
