import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FakeTwilioRestServer } from '../src/sim/twilio-rest/twilio-rest-server.js';
import { ALICE, startSmsRig, verdict, type SmsRig } from './sms-fixtures.js';

// Two relay instances behind one Twilio account, sharing Redis: a retry of the same event that lands
// on the other instance is still a duplicate, so the thread gets one answer.

const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL)
  console.log(
    'sms-redis: two-instance dedupe tests skipped because REDIS_URL is not set (CI sets redis://127.0.0.1:6379)',
  );

describe.runIf(REDIS_URL)('dedupe across relay instances (shared Redis)', () => {
  const prefix = `callrelay-test:sms:${randomBytes(6).toString('hex')}:`;
  const rigs: SmsRig[] = [];
  let rest: FakeTwilioRestServer | undefined;

  afterEach(async () => {
    for (const r of rigs.splice(0)) await r.close();
    await rest?.close();
    rest = undefined;
  });

  afterAll(async () => {
    const redis = new Redis(REDIS_URL ?? '', { maxRetriesPerRequest: 1 });
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('a retry that lands on the other instance is ignored: one answer, one call', async () => {
    rest = await FakeTwilioRestServer.start();
    const edgeEnv = { REDIS_URL: REDIS_URL ?? '' };
    const a = await startSmsRig({ rest, edgeEnv, dedupePrefix: prefix });
    rigs.push(a);
    const b = await startSmsRig({ rest, edgeEnv, dedupePrefix: prefix });
    rigs.push(b);
    expect(a.sms.deduper.backend).toBe('redis');
    const conv = a.oneToOne();

    const params = rest.inboundMessage(conv, { author: ALICE, body: '@call 4155550061' });
    const [first, second] = await Promise.all([a.post(params), b.post({ ...params, RetryCount: '1' })]);
    expect([await verdict(first), await verdict(second)].sort()).toEqual(['accepted', 'duplicate']);
    // Without a MessageSid the key is ConversationSid:Index, shared the same way.
    const { MessageSid: _, ...noSid } = rest.inboundMessage(conv, { author: ALICE, body: 'hello' });
    expect(await verdict(await b.post(noSid))).toBe('accepted');
    expect(await verdict(await a.post(noSid))).toBe('duplicate');

    await Promise.all([a.sms.idle(), b.sms.idle()]);
    expect(rest.calls.map((c) => c.to)).toEqual(['+14155550061']);
    expect(rest.posted(conv)).toHaveLength(2); // "Calling …" and the answer to "hello"
  });
});
