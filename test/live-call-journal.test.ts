import { mkdtemp, mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallRecord } from '../src/store/call-record.js';
import { CallRecordWriter, OUTBOX_FILE } from '../src/store/outbox.js';
import { LIVE_FILE } from '../src/store/live-call-journal.js';

// A process that dies mid-call (SIGKILL, OOM, host lost) must still leave one record per call that
// started: the next process on the same DATA_DIR writes it, ending `relay_restarted`.

class MemoryStore {
  readonly rows = new Map<string, CallRecord>();
  saves = 0;
  async saveCallRecord(r: CallRecord): Promise<void> {
    this.saves++;
    this.rows.set(r.callSid, r);
  }
}

const startedAt = new Date('2030-05-06T10:00:00.000Z');
const atStart = (callSid: string): CallRecord => ({
  callSid,
  streamSid: 'MZ1',
  merchantId: 'demo',
  callerPhone: '+14155550123',
  calledNumber: '+15005550006',
  direction: 'inbound',
  answeredBy: null,
  startedAt,
  endedAt: null,
  durationMs: null,
  endReason: null,
  provider: 'openai',
  model: 'gpt-realtime',
  usage: {},
  stats: {},
  transcript: [],
  transcriptText: '',
  timeline: [],
  toolCalls: [],
});
const finished = (callSid: string): CallRecord => ({
  ...atStart(callSid),
  endedAt: new Date(startedAt.getTime() + 30_000),
  durationMs: 30_000,
  endReason: 'caller_hung_up',
  transcript: [{ role: 'caller', text: 'hello', atMs: 100 }],
  transcriptText: 'Caller: hello',
});

let dir: string;
const writers: CallRecordWriter[] = [];
const open = async (store: MemoryStore, compactAfter?: number) => {
  const w = await CallRecordWriter.open({
    store,
    dir,
    baseDelayMs: 5,
    maxDelayMs: 40,
    journal: { heartbeatMs: 20, compactAfter },
  });
  writers.push(w);
  return w;
};
const journalLines = async () => {
  const f = join(dir, 'outbox', LIVE_FILE);
  return existsSync(f)
    ? (await readFile(f, 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { op: string })
    : [];
};
const until = async (cond: () => Promise<boolean> | boolean, what: string) => {
  const deadline = Date.now() + 3000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callrelay-live-'));
});
afterEach(async () => {
  for (const w of writers.splice(0)) await w.close();
  await rm(dir, { recursive: true, force: true });
});

describe('calls the process dies under', () => {
  it('are recorded by the next process as relay_restarted, once, ending when the dead process last beat', async () => {
    const w1 = await open(new MemoryStore());
    w1.started(atStart('CA-live'));
    w1.started(atStart('CA-done'));
    await w1.write(finished('CA-done'));
    await until(
      async () => (await journalLines()).map((l) => l.op).join() === 'start,start,end',
      'the end of the finished call in the journal',
    );
    const beatAt = new Date(startedAt.getTime() + 42_000);
    // The "kill": no close(); the file keeps the live call. Date the last heartbeat.
    await utimes(join(dir, 'outbox', LIVE_FILE), beatAt, beatAt);

    const store = new MemoryStore();
    const w2 = await open(store);
    expect(await w2.flush(3000)).toBe(0);
    expect([...store.rows.keys()]).toEqual(['CA-live']);
    const rec = store.rows.get('CA-live');
    expect(rec).toMatchObject({
      endReason: 'relay_restarted',
      endedAt: beatAt,
      durationMs: 42_000,
      callerPhone: '+14155550123',
      merchantId: 'demo',
    });
    expect(rec?.transcriptText).toMatch(/relay stopped during this call/);
    expect(await journalLines()).toEqual([]);

    // A third start finds nothing left to recover.
    const again = new MemoryStore();
    const w3 = await open(again);
    expect(await w3.flush(500)).toBe(0);
    expect(again.saves).toBe(0);
  });

  it('never replaces a real record that reached the outbox before the crash', async () => {
    await mkdir(join(dir, 'outbox'), { recursive: true });
    // Died between queuing the final record and noting the end in the journal.
    await writeFile(join(dir, 'outbox', LIVE_FILE), `${JSON.stringify({ op: 'start', record: atStart('CA-both') })}\n`);
    await writeFile(join(dir, 'outbox', OUTBOX_FILE), `${JSON.stringify(finished('CA-both'))}\n`);
    const store = new MemoryStore();
    const w = await open(store);
    expect(await w.flush(3000)).toBe(0);
    expect(store.rows.get('CA-both')?.endReason).toBe('caller_hung_up');
    expect(store.saves).toBe(1);
  });

  it('skips a line torn by the crash and keeps the whole ones', async () => {
    await mkdir(join(dir, 'outbox'), { recursive: true });
    const whole = `${JSON.stringify({ op: 'start', record: atStart('CA-whole') })}\n`;
    const torn = JSON.stringify({ op: 'start', record: atStart('CA-torn') }).slice(0, 50);
    await writeFile(join(dir, 'outbox', LIVE_FILE), whole + torn);
    const store = new MemoryStore();
    const w = await open(store);
    expect(await w.flush(3000)).toBe(0);
    expect([...store.rows.keys()]).toEqual(['CA-whole']);
  });

  it(
    'keeps the journal small under churn: rewritten with only the live calls, removed when none are ' + 'left',
    async () => {
      const w = await open(new MemoryStore(), 3);
      for (const id of ['a', 'b', 'c', 'd', 'e']) w.started(atStart(`CA-${id}`));
      for (const id of ['a', 'b', 'c']) await w.write(finished(`CA-${id}`));
      await until(async () => (await journalLines()).length === 2, 'compaction');
      expect((await journalLines()).every((l) => l.op === 'start')).toBe(true);
      expect(w.liveCalls).toBe(2);
      await w.write(finished('CA-d'));
      await w.write(finished('CA-e'));
      await until(() => !existsSync(join(dir, 'outbox', LIVE_FILE)), 'the journal to be removed');
      expect(w.liveCalls).toBe(0);
    },
  );
});
