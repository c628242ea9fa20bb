import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.js';
import { truncateSms } from '../src/sms/ai-reply.js';
import { describeCallOutcome, formatDuration, reachedMachine } from '../src/sms/call-outcome.js';
import { parseCommand } from '../src/sms/commands.js';
import { MemoryDeduper, RedisDeduper } from '../src/sms/dedupe.js';
import { parseNumberList } from '../src/sms/phone-numbers.js';
import { loadSmsConfig } from '../src/sms/sms-config.js';
import { createTwilioClient, rewriteTwilioUrl, safeErrorText, twilioErrorCode } from '../src/sms/twilio-rest.js';
import { FakeTwilioRestServer } from '../src/sim/twilio-rest/twilio-rest-server.js';
import { callSummary } from './sms-fixtures.js';

// The pure parts of the SMS feature, and the deduper's behaviour when Redis is unreachable.

const SID = `AC${'a'.repeat(32)}`;
const base = { TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: 'tok', TWILIO_PHONE_NUMBER: '+15005550006' };

describe('loadSmsConfig', () => {
  it('is off without TWILIO_ACCOUNT_SID and has the documented defaults otherwise', () => {
    expect(loadSmsConfig({})).toBeNull();
    expect(loadSmsConfig(base)).toMatchObject({
      botIdentity: 'callrelay-bot',
      // No number of anyone's deployment built in: the bot appears as the relay's own number.
      botProjectedAddress: '+15005550006',
      defaultRegion: 'US',
      maxNumbersPerCommand: 5,
      openai: { apiKey: undefined, baseUrl: undefined, textModel: 'gpt-4.1-mini' },
      twilioApiBaseUrl: undefined,
    });
    expect(
      loadSmsConfig({ ...base, TWILIO_API_BASE_URL: 'http://127.0.0.1:4010/', DEFAULT_REGION: 'gb' }),
    ).toMatchObject({ twilioApiBaseUrl: 'http://127.0.0.1:4010', defaultRegion: 'GB' });
  });

  it.each([
    [{ TWILIO_ACCOUNT_SID: 'nope' }, 'TWILIO_ACCOUNT_SID'],
    [{ TWILIO_AUTH_TOKEN: '' }, 'TWILIO_AUTH_TOKEN'],
    [{ TWILIO_PHONE_NUMBER: '4155550100' }, 'TWILIO_PHONE_NUMBER'],
    [{ BOT_PROJECTED_ADDRESS: 'x' }, 'BOT_PROJECTED_ADDRESS'],
    [{ BOT_IDENTITY: 'system' }, 'BOT_IDENTITY'],
    [{ DEFAULT_REGION: 'XX' }, 'DEFAULT_REGION'],
    [{ MAX_NUMBERS_PER_COMMAND: '0' }, 'MAX_NUMBERS_PER_COMMAND'],
    [{ MAX_NUMBERS_PER_COMMAND: '5.5' }, 'MAX_NUMBERS_PER_COMMAND'],
    [{ OPENAI_BASE_URL: 'ftp://x' }, 'OPENAI_BASE_URL'],
    [{ TWILIO_API_BASE_URL: 'not a url' }, 'TWILIO_API_BASE_URL'],
  ])('names the variable of a bad value: %j', (bad, variable) => {
    try {
      loadSmsConfig({ ...base, ...bad });
      expect.unreachable('should have thrown');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe(variable);
    }
  });
});

describe('commands and numbers', () => {
  const opts = { region: 'US' as const, maxNumbers: 5 };

  it('normalises numbers to E.164, keeps invalid entries verbatim, removes duplicates', () => {
    expect(parseNumberList('4155550100, (415) 555-0101; +1 415 555 0100 and 12345\n+44 20 7946 0958', 'US')).toEqual({
      valid: ['+14155550100', '+14155550101', '+442079460958'],
      invalid: ['12345'],
      written: 5,
    });
    expect(parseNumberList('4155550100 4155550101', 'US').valid).toEqual(['+14155550100', '+14155550101']);
    expect(parseNumberList('020 7946 0958', 'GB').valid).toEqual(['+442079460958']);
  });

  it('recognises @call, @group and @ai, and refuses with a reason', () => {
    expect(parseCommand('@call 4155550100, 999', opts)).toEqual({
      kind: 'call',
      numbers: ['+14155550100'],
      invalid: ['999'],
    });
    expect(parseCommand('please @CALL 4155550100', opts)).toMatchObject({ kind: 'call' });
    expect(parseCommand('@group 4155550100, +44 20 7946 0958', opts)).toEqual({
      kind: 'group',
      numbers: ['+14155550100'],
      invalid: [],
      unsupported: ['+442079460958'],
    });
    expect(parseCommand('hey @ai when are you open?', opts)).toEqual({ kind: 'chat', mentionsAi: true });
    expect(parseCommand('mail me at bob@ai.com', opts)).toEqual({ kind: 'chat', mentionsAi: false });
    expect(parseCommand('  ', opts)).toEqual({ kind: 'none' });
    expect(parseCommand('@call', opts)).toMatchObject({
      kind: 'refuse',
      reply: expect.stringContaining('list the numbers'),
    });
    expect(parseCommand('@call 1, 2, 3, 4, 5, 6', opts)).toMatchObject({
      kind: 'refuse',
      reply: expect.stringMatching(/^That's 6 numbers; I can take at most 5/),
    });
    expect(parseCommand('@call 12345', opts)).toEqual({
      kind: 'refuse',
      reply: `I couldn't read "12345" as a phone number, so I skipped it. Nothing was dialled.`,
    });
  });
});

describe('texts', () => {
  it('truncates at a sentence or word boundary within 1,600 characters', () => {
    expect(truncateSms('short')).toBe('short');
    const long = 'One sentence here. '.repeat(120);
    const cut = truncateSms(long);
    expect(cut.length).toBeLessThanOrEqual(1600);
    expect(cut.endsWith('here.…')).toBe(true);
    const words = truncateSms('word '.repeat(500), 100);
    expect(words).toMatch(/^(word )+word…$/);
    expect(truncateSms('x'.repeat(2000)).length).toBe(1600);
  });

  it('describes an ended call: answered or voicemail, duration, one-line gist', () => {
    const summary = callSummary({
      callerPhone: '+14155550100',
      durationMs: 61_400,
      answeredBy: 'human',
      transcript: [
        { role: 'assistant', text: 'Hello, this is the clinic.', atMs: 0 },
        { role: 'caller', text: 'Hi!   I can  come Tuesday.', atMs: 1 },
        { role: 'assistant', text: 'Booked.', atMs: 2 },
      ],
    });
    expect(describeCallOutcome(summary)).toBe(
      'Call to +14155550100: answered, 1m 01s. They said: "Hi! I can come Tuesday."',
    );
    expect(describeCallOutcome({ ...summary, transcript: [], endReason: 'model_dropped' })).toBe(
      'Call to +14155550100: answered, 1m 01s. Nothing was said. (The call ended early because of a ' +
        'technical problem.)',
    );
    expect(reachedMachine({ answeredBy: 'machine_start', endReason: 'caller_hung_up' })).toBe(true);
    expect(reachedMachine({ answeredBy: 'unknown', endReason: 'caller_hung_up' })).toBe(false);
    expect(formatDuration(4_400)).toBe('4s');
  });
});

describe('dedupe', () => {
  it('memory: a key is a duplicate for the window (not extended by repeats), then new again; bounded', async () => {
    let now = 0;
    const d = new MemoryDeduper({ ttlMs: 1000, maxEntries: 3, clock: () => now });
    expect(await d.firstSight('a')).toBe(true);
    now = 900;
    expect(await d.firstSight('a')).toBe(false);
    now = 1001;
    expect(await d.firstSight('a')).toBe(true);
    for (const k of ['b', 'c', 'd', 'e']) await d.firstSight(k);
    expect(d.size).toBeLessThanOrEqual(3);
  });

  it('Redis down: fails open to per-instance memory (a local retry is still a duplicate)', async () => {
    const redis = new Redis('redis://127.0.0.1:1', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    redis.on('error', () => undefined);
    const d = new RedisDeduper({ redis, timeoutMs: 200 });
    expect(await d.firstSight('IMx')).toBe(true);
    expect(await d.firstSight('IMx')).toBe(false);
    expect(await d.firstSight('IMy')).toBe(true);
    expect(d.fallbackCount).toBe(2);
    redis.disconnect();
  });
});

describe('Twilio REST client', () => {
  let rest: FakeTwilioRestServer | undefined;
  afterAll(async () => rest?.close());

  it('rewrites every *.twilio.com URL to the base, path and query unchanged', () => {
    expect(
      rewriteTwilioUrl('https://conversations.twilio.com/v1/Conversations?PageSize=5', 'http://127.0.0.1:9/'),
    ).toBe('http://127.0.0.1:9/v1/Conversations?PageSize=5');
    expect(
      rewriteTwilioUrl('https://api.sydney.au1.twilio.com/2010-04-01/Accounts/AC1/Calls.json', 'http://h:1/p'),
    ).toBe('http://h:1/p/2010-04-01/Accounts/AC1/Calls.json');
    expect(rewriteTwilioUrl('https://example.com/x', 'http://h:1')).toBe('https://example.com/x');
  });

  it('masks phone numbers in error texts before they are logged', () => {
    expect(safeErrorText(new Error("Invalid 'To' Phone Number: +14155550123"))).toBe(
      "Invalid 'To' Phone Number: +1415•••0123",
    );
  });

  it('reaches the local fake with Basic auth, and wrong credentials get Twilio error 20003', async () => {
    rest = await FakeTwilioRestServer.start();
    const good = createTwilioClient({ accountSid: rest.accountSid, authToken: rest.authToken, apiBaseUrl: rest.url });
    const conv = await good.conversations.v1.conversations.create({ friendlyName: 'x' });
    expect(conv.sid).toMatch(/^CH[0-9a-f]{32}$/);
    expect(rest.requests[0]).toMatchObject({
      method: 'POST',
      path: '/v1/Conversations',
      auth: { username: rest.accountSid, password: rest.authToken },
      form: { FriendlyName: 'x' },
    });
    const bad = createTwilioClient({ accountSid: rest.accountSid, authToken: 'wrong', apiBaseUrl: rest.url });
    const err: unknown = await bad.conversations.v1.conversations
      .create({ friendlyName: 'y' })
      .catch((e: unknown) => e);
    expect(twilioErrorCode(err)).toBe(20003);
    expect(rest.conversations.size).toBe(1);
  });
});
