import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chromiumPath,
  FRONT_DESK,
  OPERATOR_TOKEN,
  pressKeys,
  speakAndBargeIn,
  startConsoleFixture,
  type ConsoleFixture,
} from './console-fixture.js';

// The console as a person uses it, in Debian's chromium, against a relay process with simulated
// calls: sign in, watch a live call's chart follow a barge-in, open the finished call, mark a message
// read, connect and disconnect Google Calendar, and an owner's link that cannot see another
// merchant's call.

const exe = chromiumPath();
if (!exe) {
  process.stdout.write('console browser tests skipped: no chromium (apt-get install -y chromium, or CHROMIUM_PATH)\n');
}

describe.skipIf(!exe)('console in a browser', () => {
  let fx: ConsoleFixture;
  let browser: Browser;
  let operator: BrowserContext;
  let page: Page;
  let finishedCallSid = '';

  beforeAll(async () => {
    fx = await startConsoleFixture({ captureLog: true });
    browser = await chromium.launch({ executablePath: exe ?? undefined, args: ['--no-sandbox'] });
    operator = await browser.newContext();
    page = await operator.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await fx?.stop();
  });

  const metric = async (reason: string): Promise<number> => {
    const text = await (await fetch(fx.metricsUrl)).text();
    const m = new RegExp(`callrelay_console_sign_in_failures_total\\{reason="${reason}"\\} (\\d+)`).exec(text);
    return Number(m?.[1] ?? 0);
  };

  it('refuses a wrong token with the sign-in page and no data, and counts it', async () => {
    const before = await metric('wrong_token');
    await page.goto(`${fx.origin}/console`);
    await expect(page.getByRole('heading', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
    await page.getByLabel('Console token or sign-in link').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/not valid/);
    expect(await page.locator('table').count()).toBe(0);
    expect(await metric('wrong_token')).toBe(before + 1);
  });

  it('signs the operator in and shows a live call whose chart follows the caller barging in', async () => {
    await page.getByLabel('Console token or sign-in link').fill(OPERATOR_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Live calls' }).waitFor();
    const cookies = await operator.cookies();
    expect(cookies.find((c) => c.name === 'callrelay_console')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    await page.locator('#live-status', { hasText: 'Connected' }).waitFor();

    const caller = await fx.dial('demo', '+14155550123');
    finishedCallSid = caller.callSid;
    const row = page.locator(`#live-rows tr[data-call="${caller.callSid}"]`);
    await row.waitFor();
    await expect(row.textContent()).resolves.toContain('+1415•••0123');
    await speakAndBargeIn(caller);
    // The barge-in lasted a moment; the page saw it and shows the path the call took.
    await page.locator('#chart-trail', { hasText: 'bargeIn' }).waitFor({ timeout: 10_000 });
    const active = page.locator('svg.chart .st.active');
    await expect(active.count()).resolves.toBe(1);
    const state = await page.locator('#chart-state').textContent();
    expect(await active.getAttribute('data-state')).toBe(state);

    await pressKeys(caller, '42');
    await caller.hangUp();
    await row.waitFor({ state: 'detached', timeout: 10_000 });
  });

  it('opens the finished call: transcript with the interrupted turn, timeline, tool call', async () => {
    await page.getByRole('link', { name: 'Calls' }).click();
    await page.getByRole('heading', { name: 'Calls' }).waitFor();
    await page.getByLabel('Search').fill(finishedCallSid);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('#call-list tbody tr').first().getByRole('link').click();
    await page.getByRole('heading', { name: `Call ${finishedCallSid}` }).waitFor();
    await expect(page.locator('#end-reason').textContent()).resolves.toBe('caller hung up');
    await expect(page.locator('.turn.interrupted .badge').first().textContent()).resolves.toBe('interrupted');
    expect(await page.locator('svg.timeline .band').count()).toBeGreaterThan(3);
    expect(await page.locator('svg.timeline .barge').count()).toBeGreaterThanOrEqual(1);
    await expect(page.locator('svg.timeline .tool').first().textContent()).resolves.toMatch(/lookupCustomer \d+ ms/);
    await expect(page.locator('.tool-call h3').first().textContent()).resolves.toMatch(/lookupCustomer/);
  });

  it('answers a malformed search with 400 naming the field, and an unknown call with 404', async () => {
    const bad = await page.goto(`${fx.origin}/console/calls?from=31-01-2030`);
    expect(bad?.status()).toBe(400);
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/from.*date like 2030-01-31/);
    const missing = await page.goto(`${fx.origin}/console/calls/CAnothing`);
    expect(missing?.status()).toBe(404);
  });

  it("lets an owner's link see its own messages, mark one read for good, and not another merchant's call", async () => {
    // The bikes caller presses keys: the simulated model takes a message with the takeMessage tool.
    const caller = await fx.dial('bikes', '+12125550111');
    await caller.waitFor((c) => c.hearing, 15_000, 'the greeting');
    await caller.waitFor((c) => !c.hearing && c.queuedPlaybackBytes === 0, 20_000, 'the greeting to end');
    await pressKeys(caller, '7');
    await caller.hangUp();

    const owner = await browser.newContext();
    const p = await owner.newPage();
    await p.goto(fx.links.bikes);
    await p.getByRole('heading', { name: 'Live calls' }).waitFor();
    expect(p.url()).toBe(`${fx.origin}/console`);
    await p.getByRole('link', { name: 'Messages & bookings' }).click();
    await p.getByRole('heading', { name: 'Bright Bikes' }).waitFor();
    const unread = p.locator('li.message.unread');
    await expect(unread.count()).resolves.toBe(1);
    await unread.getByRole('button', { name: 'Mark as read' }).click();
    await p.getByRole('status').filter({ hasText: 'marked as read' }).waitFor();
    await p.reload();
    await expect(p.locator('li.message.unread').count()).resolves.toBe(0);
    await expect(p.locator('li.message.read').count()).resolves.toBe(1);
    await expect(p.locator('#unread-count').textContent()).resolves.toBe('0 unread');

    // The demo merchant's call and page do not exist for this owner.
    const foreignCall = await p.goto(`${fx.origin}/console/calls/${finishedCallSid}`);
    expect(foreignCall?.status()).toBe(404);
    const foreignPage = await p.goto(`${fx.origin}/console/merchants/demo`);
    expect(foreignPage?.status()).toBe(404);
    await p.goto(`${fx.origin}/console/calls`);
    await expect(p.locator('#call-list').textContent()).resolves.not.toContain('Sunny Side Dental');
    await owner.close();
  });

  it('connects Google Calendar with consent, picks a calendar, checks it, and disconnect revokes it', async () => {
    const owner = await browser.newContext();
    const p = await owner.newPage();
    await p.goto(fx.links.bikes);
    await p.getByRole('heading', { name: 'Live calls' }).waitFor();
    await p.goto(`${fx.origin}/console/merchants/bikes`);
    await p.getByRole('button', { name: 'Connect Google Calendar' }).click();
    await p.getByRole('button', { name: 'Allow' }).click();
    await p.getByRole('heading', { name: /Choose a calendar/ }).waitFor();
    const asked = fx.google.oauth.authRequests.at(-1);
    expect(asked?.accessType).toBe('offline');
    expect(asked?.scope.split(' ').sort()).toEqual([
      'https://www.googleapis.com/auth/calendar.calendarlist.readonly',
      'https://www.googleapis.com/auth/calendar.events.owned',
      'https://www.googleapis.com/auth/calendar.freebusy',
    ]);
    await p.getByLabel('Front desk').check();
    await p.getByRole('button', { name: 'Use this calendar' }).click();
    await expect(p.locator('#calendar-id').textContent()).resolves.toBe(FRONT_DESK);
    await expect(p.locator('#calendar-check').textContent()).resolves.toMatch(/^Working: a free\/busy check/);
    await p.getByRole('button', { name: 'Disconnect' }).click();
    await p.getByRole('status').filter({ hasText: 'revoked at Google' }).waitFor();
    expect(fx.google.oauth.revoked).toHaveLength(1);
    await p.getByRole('button', { name: 'Connect Google Calendar' }).waitFor();
    await owner.close();
  });

  it('keeps tokens, sign-in links and OAuth secrets out of the relay log', async () => {
    const log = fx.log();
    // The log is there and speaks of what happened…
    expect(log).toContain('console sign-in');
    expect(log).toContain('google calendar connected');
    // …without any secret that passed through.
    const secrets = [
      OPERATOR_TOKEN,
      fx.links.demo.split('#link=')[1] ?? 'missing',
      fx.links.bikes.split('#link=')[1] ?? 'missing',
      ...fx.google.oauth.revoked,
      ...fx.google.oauth.authRequests.flatMap((r) => [r.state, r.challenge]),
    ];
    expect(secrets.length).toBeGreaterThan(4);
    for (const secret of secrets)
      expect(log.includes(secret), `a secret of ${secret.length} characters in the log`).toBe(false);
    expect(log).not.toMatch(/code=4\/fake-/);
  });
});
