import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallSummary } from '../src/call/recorder.js';
import type { CallRecord } from '../src/store/call-record.js';
import { CallRecordWriter, OUTBOX_FILE, REJECTED_FILE, type CallRecordWriterOptions } from '../src/store/outbox.js';
import { openPg } from '../src/store/pg-db.js';
import { SqlStore } from '../src/store/sql-store.js';
import { StoreCallRecorder } from '../src/store/store-call-recorder.js';

// The outbox against a database that is really unreachable (a pg pool aimed at a closed port) and
// a store double that fails a set number of times, then works and keeps rows by call_sid.

class FlakyStore {
  readonly rows = new Map<string, CallRecord>();
  calls = 0;
  constructor(
    public failuresLeft = 0,
    private readonly error: () => Error = () =>
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
  ) {}
  async saveCallRecord(r: CallRecord): Promise<void> {
    this.calls++;
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw this.error();
    }
    this.rows.set(r.callSid, r);
  }
}

const record = (callSid: string): CallRecord => ({
  callSid,
  streamSid: 'MZ1',
  merchantId: 'sunny',
  callerPhone: '+14155550123',
  calledNumber: '+15005550006',
  direction: 'inbound',
  answeredBy: null,
  startedAt: new Date('2030-03-04T15:00:00.000Z'),
  endedAt: new Date('2030-03-04T15:01:00.000Z'),
  durationMs: 60_000,
  endReason: 'caller_hung_up',
  provider: 'openai',
  model: 'gpt-realtime',
  usage: { totalTokens: 10 },
  stats: { bargeIns: 0 },
  transcript: [
    { role: 'caller', text: 'hello', atMs: 10 },
    { role: 'assistant', text: 'Hi the…', atMs: 500, interrupted: true },
  ],
  transcriptText: 'Caller: hello\nAssistant: Hi the… [interrupted]',
  timeline: [{ atMs: 0, kind: 'state', state: 'connecting' }],
  toolCalls: [],
});

let dir: string;
const writers: CallRecordWriter[] = [];
const open = async (store: CallRecordWriterOptions['store'], over: Partial<CallRecordWriterOptions> = {}) => {
  const w = await CallRecordWriter.open({
    store,
    dir,
    baseDelayMs: 5,
    maxDelayMs: 40,
    attemptTimeoutMs: 3000,
    ...over,
  });
  writers.push(w);
  return w;
};
const outboxLines = async (): Promise<string[]> => {
  const f = join(dir, 'outbox', OUTBOX_FILE);
  return existsSync(f) ? (await readFile(f, 'utf8')).split('\n').filter(Boolean) : [];
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callrelay-outbox-'));
});

afterEach(async () => {
  for (const w of writers.splice(0)) await w.close();
  await rm(dir, { recursive: true, force: true });
});

describe('CallRecordWriter', () => {
  it('queues a record on disk when the database is unreachable, and a restarted writer replays it', async () => {
    const down = new SqlStore(
      openPg({ connectionString: 'postgres://postgres@127.0.0.1:1/test', connectionTimeoutMillis: 2000 }),
    );
    try {
      const w1 = await open(down);
      expect(await w1.write(record('CA-down'))).toBe('queued');
      expect(w1.depth()).toBe(1);
      const lines = await outboxLines();
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ callSid: 'CA-down', startedAt: '2030-03-04T15:00:00.000Z' });
      expect(await w1.flush(150)).toBe(1); // still down
      await w1.close();
    } finally {
      await down.close();
    }

    const up = new FlakyStore();
    const w2 = await open(up);
    expect(w2.depth()).toBe(1);
    expect(await w2.flush(5000)).toBe(0);
    expect(up.rows.get('CA-down')).toEqual(record('CA-down'));
    expect(await outboxLines()).toEqual([]);
  });

  it('retries with backoff until the store works again, storing the record exactly once', async () => {
    const store = new FlakyStore(4);
    const w = await open(store);
    expect(await w.write(record('CA-retry'))).toBe('queued');
    expect(await w.flush(5000)).toBe(0);
    expect(store.calls).toBe(5);
    expect([...store.rows.keys()]).toEqual(['CA-retry']);
    expect(await outboxLines()).toEqual([]);
    expect(await w.write(record('CA-next'))).toBe('stored');
  });

  it(
    'has the record on disk before the first save attempt, so a database that hangs cannot hold it only in ' + 'memory',
    async () => {
      let release: () => void = () => undefined;
      const hanging = { saveCallRecord: () => new Promise<void>((r) => (release = r)) };
      const w = await open(hanging, { attemptTimeoutMs: 60_000 });
      const outcome = w.write(record('CA-hang'));
      const deadline = Date.now() + 2000;
      while ((await outboxLines()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect((await outboxLines()).map((l) => JSON.parse(l).callSid)).toEqual(['CA-hang']);
      // The process dies here: a new writer on the same directory finds the record and stores it.
      const up = new FlakyStore();
      const w2 = await open(up);
      expect(await w2.flush(5000)).toBe(0);
      expect([...up.rows.keys()]).toEqual(['CA-hang']);
      // The first process's attempt completing late drops its line and stores nothing twice.
      release();
      expect(await outcome).toBe('stored');
      expect(await outboxLines()).toEqual([]);
    },
  );

  it('keeps every record when many calls end while the store is down', async () => {
    const store = new FlakyStore(3);
    const w = await open(store);
    const ids = Array.from({ length: 12 }, (_, i) => `CA-many-${i}`);
    const outcomes = await Promise.all(ids.map((id) => w.write(record(id))));
    // The first attempt fails for sure; how many others meet a failure depends on the retry timing.
    expect(outcomes.filter((o) => o === 'queued').length).toBeGreaterThanOrEqual(1);
    expect(outcomes.every((o) => o === 'queued' || o === 'stored')).toBe(true);
    expect(await w.flush(5000)).toBe(0);
    expect([...store.rows.keys()].sort()).toEqual([...ids].sort());
    expect(await outboxLines()).toEqual([]);
  });

  it('replays twice without duplicating: the same call sid is written, not appended', async () => {
    await mkdir(join(dir, 'outbox'), { recursive: true });
    // As if a process crashed after storing CA-dup but before removing it from the file.
    await writeFile(
      join(dir, 'outbox', OUTBOX_FILE),
      `${JSON.stringify(record('CA-dup'))}\n${JSON.stringify(record('CA-dup'))}\n`,
    );
    const store = new FlakyStore();
    store.rows.set('CA-dup', record('CA-dup'));
    const w = await open(store);
    expect(await w.flush(5000)).toBe(0);
    expect(store.rows.size).toBe(1);
  });

  it('drops a line torn by a crash but replays the ones before it and appends cleanly after it', async () => {
    await mkdir(join(dir, 'outbox'), { recursive: true });
    const torn = JSON.stringify(record('CA-torn')).slice(0, 40);
    await writeFile(
      join(dir, 'outbox', OUTBOX_FILE),
      `${JSON.stringify(record('CA-a'))}\n${JSON.stringify(record('CA-b'))}\n${torn}`,
    );
    const down = new FlakyStore(1_000_000);
    const w1 = await open(down, { baseDelayMs: 60_000 });
    expect(w1.depth()).toBe(2);
    expect(await w1.write(record('CA-c'))).toBe('queued');
    await w1.close();
    expect((await outboxLines()).map((l) => JSON.parse(l).callSid)).toEqual(['CA-a', 'CA-b', 'CA-c']);

    const up = new FlakyStore();
    const w2 = await open(up);
    expect(await w2.flush(5000)).toBe(0);
    expect([...up.rows.keys()].sort()).toEqual(['CA-a', 'CA-b', 'CA-c']);
  });

  it(
    'moves a record the database refuses as invalid to the dead-letter file instead of retrying it ' + 'forever',
    async () => {
      const store = new FlakyStore(1, () =>
        Object.assign(new Error('new row violates check constraint'), { code: '23514' }),
      );
      const w = await open(store);
      expect(await w.write(record('CA-bad'))).toBe('rejected');
      expect(w.depth()).toBe(0);
      const dead = (await readFile(join(dir, 'outbox', REJECTED_FILE), 'utf8')).split('\n').filter(Boolean);
      expect(dead).toHaveLength(1);
      expect(JSON.parse(dead[0] ?? '{}')).toMatchObject({ error: { code: '23514' }, record: { callSid: 'CA-bad' } });
      expect(await outboxLines()).toEqual([]);
    },
  );

  it('stops retrying once closed, leaving the record on disk', async () => {
    const store = new FlakyStore(1_000_000);
    const w = await open(store);
    await w.write(record('CA-closed'));
    await w.close();
    const calls = store.calls;
    await new Promise((r) => setTimeout(r, 120));
    expect(store.calls).toBe(calls);
    expect(await outboxLines()).toHaveLength(1);
    await expect(w.write(record('CA-late'))).rejects.toThrow(/closed/);
  });

  it('StoreCallRecorder turns the call core summary into one calls row', async () => {
    const store = new FlakyStore();
    const w = await open(store);
    const summary: CallSummary = {
      callSid: 'CA-sum',
      streamSid: 'MZ-sum',
      merchantId: 'sunny',
      callerPhone: '+14155550123',
      calledNumber: '+15005550006',
      direction: 'outbound',
      answeredBy: 'human',
      provider: 'xai',
      model: 'grok-voice',
      startedAt: new Date('2030-01-01T10:00:00Z'),
      endedAt: new Date('2030-01-01T10:00:30Z'),
      durationMs: 30_000.4,
      endReason: 'voicemail_left',
      transcript: [{ role: 'assistant', text: 'Hello', atMs: 5 }],
      transcriptText: 'Assistant: Hello',
      timeline: [],
      usage: { inputTokens: 3, outputTokens: 4 },
      stats: {
        framesIn: 1,
        framesOut: 2,
        bargeIns: 0,
        assistantAudioMs: 900,
        droppedCallerAudioMs: 0,
        lateDeltasDropped: 0,
        modelConnectMs: null,
        badTwilioMessages: 0,
        twilioSendRefused: 0,
      },
    };
    await new StoreCallRecorder(w).record(summary);
    expect(store.rows.get('CA-sum')).toMatchObject({
      direction: 'outbound',
      answeredBy: 'human',
      durationMs: 30_000,
      endReason: 'voicemail_left',
      usage: { inputTokens: 3, outputTokens: 4 },
      stats: { assistantAudioMs: 900, modelConnectMs: null },
      transcript: [{ role: 'assistant', text: 'Hello', atMs: 5 }],
    });
  });
});
