import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticMerchantDirectory } from '../src/merchants/directory.js';
import { demoMerchant } from '../src/merchants/demo-merchant.js';
import { ownerSmsText } from '../src/notify/owner-events.js';
import { PostCallWebhooks } from '../src/notify/post-call-webhook.js';
import { parseCallRecord } from '../src/store/call-record.js';
import { type Delivery, DurableQueue } from '../src/store/durable-queue.js';
import { until } from './support/relay-harness.js';

// The durable queue under owner SMS and webhooks, on its own: what survives a restart, what is sent
// once, what is given up; and the webhook of a call that went to a person and came back.

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'callrelay-queue-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const parse = (p: unknown): string => {
  if (typeof p !== 'string') throw new Error('not a string');
  return p;
};

describe('DurableQueue', () => {
  it('keeps what was not delivered across a restart, sends each id once, and remembers delivered ids', async () => {
    const dir = tmp();
    const seen: string[] = [];
    let answer: Delivery<string>['kind'] = 'retry';
    const deliver = async (job: { id: string; payload: string }): Promise<Delivery<string>> => {
      seen.push(job.id);
      return answer === 'retry' ? { kind: 'retry', reason: 'down' } : { kind: answer, reason: 'no' };
    };
    const q1 = await DurableQueue.open({ dir, name: 'q', parse, deliver, baseDelayMs: 60_000 });
    expect(await q1.enqueue('a', 'A')).toBe('queued');
    expect(await q1.enqueue('a', 'A again')).toBe('duplicate');
    await until(() => seen.length === 1, 2000, 'the first attempt');
    await q1.close();
    // A torn last line (a crash mid-append) is dropped, not fatal.
    writeFileSync(join(dir, 'q.jsonl'), `${readFileSync(join(dir, 'q.jsonl'), 'utf8')}{"id":"b","pay`);

    answer = 'done';
    const q2 = await DurableQueue.open({ dir, name: 'q', parse, deliver });
    await until(() => q2.depth() === 0, 2000, 'the replay');
    expect(seen).toEqual(['a', 'a']);
    expect(await q2.enqueue('a', 'A')).toBe('duplicate');
    await q2.close();

    const q3 = await DurableQueue.open({ dir, name: 'q', parse, deliver });
    expect(await q3.enqueue('a', 'A')).toBe('duplicate');
    answer = 'dead';
    expect(await q3.enqueue('c', 'C')).toBe('queued');
    await until(() => q3.depth() === 0, 2000, 'the dead letter');
    await q3.close();
    expect(readFileSync(join(dir, 'q.dead.jsonl'), 'utf8')).toContain('"id":"c"');
    expect(existsSync(join(dir, 'q.jsonl'))).toBe(false);
  });

  it('counts an attempt on disk before it starts, so a replay knows it may have gone out', async () => {
    const dir = tmp();
    let release: () => void = () => undefined;
    const hang = new Promise<void>((r) => {
      release = r;
    });
    const q1 = await DurableQueue.open<string>({
      dir,
      name: 'q',
      parse,
      deliver: async () => {
        await hang;
        return { kind: 'retry', reason: 'x' };
      },
    });
    await q1.enqueue('a', 'A');
    await until(() => readFileSync(join(dir, 'q.jsonl'), 'utf8').includes('"attempts":1'), 2000, 'the count');
    const attempts: number[] = [];
    const q2 = await DurableQueue.open<string>({
      dir,
      name: 'q',
      parse,
      deliver: async (job) => {
        attempts.push(job.attempts);
        return { kind: 'done' };
      },
    });
    await until(() => attempts.length === 1, 2000, 'the replay');
    expect(attempts).toEqual([2]);
    release();
    await q1.close();
    await q2.close();
  });
});

describe('owner SMS text', () => {
  it('is short, names the caller and what they want, and masks the number unless opted in', () => {
    const event = {
      kind: 'transfer_failed' as const,
      callSid: 'CA1',
      callerName: 'Ada',
      callerPhone: '+14155550100',
      target: 'Dr Patel',
      outcome: 'no-answer',
      reason: `Ada has toothache after a filling — ${'and more '.repeat(60)}`,
    };
    const masked = ownerSmsText({ name: 'Sunny Side Dental' }, event);
    expect(masked).toMatch(
      /^Sunny Side Dental: Missed transfer to Dr Patel \(no answer\): Ada \(number ending 0100\): /,
    );
    expect(masked.length).toBeLessThanOrEqual(306);
    expect(masked).not.toMatch(/[^\x20-\x7e]/);
    const full = ownerSmsText(
      { name: 'Sunny', ownerNotifications: { number: '+15555550143', showCallerNumber: true } },
      {
        kind: 'cancellation',
        callSid: 'CA1',
        callerName: null,
        callerPhone: null,
        appointmentId: 'x',
        when: 'Mon 30 Mar 09:00',
      },
    );
    expect(full).toBe('Sunny: Cancelled: A caller (number withheld), Mon 30 Mar 09:00');
  });
});

describe('post-call webhook of a call that went to a person', () => {
  let server: Server;
  let url = '';
  const bodies: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => {
        raw += c.toString();
      });
      req.on('end', () => {
        bodies.push(raw);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const record = (endReason: string, text: string) =>
    parseCallRecord({
      callSid: 'CA0000000000000000000000000000000a',
      streamSid: 'MZ1',
      merchantId: 'demo',
      callerPhone: '+14155550100',
      calledNumber: null,
      direction: 'inbound',
      answeredBy: null,
      startedAt: new Date().toISOString(),
      endedAt: new Date().toISOString(),
      durationMs: 1000,
      endReason,
      provider: 'openai',
      model: 'gpt-realtime',
      transcript: [{ role: 'caller', text, atMs: 0 }],
      transcriptText: `Caller: ${text}`,
    });

  it('waits for the call to come back and sends one webhook with both halves', async () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const merchant = { ...demoMerchant, postCallWebhook: { url, secret } };
    const hooks = await PostCallWebhooks.open({
      directory: new StaticMerchantDirectory([merchant], merchant.id),
      dir: tmp(),
      writeSummary: null,
      transferSettleMs: 60_000,
    });
    await hooks.callRecorded(record('transferred', 'first half'));
    await new Promise((r) => setTimeout(r, 300));
    expect(bodies).toHaveLength(0);
    // Nobody answered: the call came back, and its record now covers both halves.
    await hooks.callRecorded(record('caller_hung_up', 'first half, then the second'));
    await until(() => bodies.length === 1, 3000, 'the webhook');
    await hooks.callRecorded(record('caller_hung_up', 'again'));
    await new Promise((r) => setTimeout(r, 300));
    expect(bodies).toHaveLength(1);
    const sent = JSON.parse(bodies[0] ?? '{}') as { data: { endReason: string; transcriptText: string } };
    expect(sent.data).toMatchObject({
      endReason: 'caller_hung_up',
      transcriptText: 'Caller: first half, then the second',
    });
    expect(() => new Webhook(secret)).not.toThrow();
    await hooks.close();
  });
});
