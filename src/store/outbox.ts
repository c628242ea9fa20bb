import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { log } from '../log.js';
import { parseCallRecord, type CallRecord } from './call-record.js';
import { describeStoreError, isPermanentStoreError } from './errors.js';
import type { Store } from './store.js';
import { LiveCallJournal, type LiveCallJournalOptions } from './live-call-journal.js';
import { appendDurably, replaceDurably } from './durable-file.js';

// Call records must survive the database being down and the process dying. Every record is appended
// (and fsync'd) to <dataDir>/outbox/call-records.jsonl BEFORE the first save attempt (write-ahead: an
// attempt against a hanging database can take attemptTimeoutMs, and a crash then must not lose an
// ended call); its line is dropped once the store has it. Records the store refuses for a transient
// reason stay queued, are retried with capped exponential backoff on an unref'd timer, and are
// replayed by the next process that opens the same directory. Replays are safe because
// saveCallRecord is idempotent on call_sid. Calls still in progress are journaled next to it
// (live-call-journal.ts), so a call the process dies under is recorded too, by the next process.

/** `rejected`: the database refused the record itself (bad data); it went to the dead-letter file. */
export type WriteOutcome = 'stored' | 'queued' | 'rejected';

export interface RecordingSink {
  write(record: CallRecord): Promise<WriteOutcome>;
  /** A call began (journaled until its record is written). */
  started?(record: CallRecord): void;
}

export interface CallRecordWriterOptions {
  store: Pick<Store, 'saveCallRecord'>;
  /** DATA_DIR; the files live in <dir>/outbox/. */
  dir: string;
  /** One save attempt's deadline. Default 5000. */
  attemptTimeoutMs?: number;
  /** First retry delay. Default 1000. */
  baseDelayMs?: number;
  /** Backoff cap. Default 60000. */
  maxDelayMs?: number;
  /** Jitter source in [0, 1). */
  random?: () => number;
  journal?: LiveCallJournalOptions;
}

interface Entry {
  seq: number;
  record: CallRecord;
  /** write() is making its own first attempt: the retry loop leaves it alone. */
  inflight: boolean;
}

const wlog = log.child({ mod: 'outbox' });

export const OUTBOX_FILE = 'call-records.jsonl';
export const REJECTED_FILE = 'call-records.rejected.jsonl';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`store did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export class CallRecordWriter implements RecordingSink {
  private pending: Entry[] = [];
  private seq = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;
  private draining: Promise<void> | null = null;
  private fileOps: Promise<unknown> = Promise.resolve();
  private closed = false;
  private journal: LiveCallJournal | null = null;
  private readonly file: string;
  private readonly rejectedFile: string;
  private readonly attemptTimeoutMs: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;

  private constructor(
    private readonly opts: CallRecordWriterOptions,
    private readonly outboxDir: string,
  ) {
    this.file = join(outboxDir, OUTBOX_FILE);
    this.rejectedFile = join(outboxDir, REJECTED_FILE);
    this.attemptTimeoutMs = opts.attemptTimeoutMs ?? 5000;
    this.baseDelayMs = opts.baseDelayMs ?? 1000;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.random = opts.random ?? Math.random;
  }

  /** Loads what a previous process left queued and starts replaying it. */
  static async open(opts: CallRecordWriterOptions): Promise<CallRecordWriter> {
    const dir = join(opts.dir, 'outbox');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const w = new CallRecordWriter(opts, dir);
    await w.load();
    await w.recoverLiveCalls();
    if (w.pending.length > 0) {
      wlog.info({ queued: w.pending.length }, 'replaying call records left in the outbox');
      w.schedule(0);
    }
    return w;
  }

  /** A call began: journaled so that if this process dies before its record is written, the next one writes it. */
  started(record: CallRecord): void {
    if (this.closed || !this.journal) return;
    void this.journal.started(record).catch(() => undefined);
  }

  get liveCalls(): number {
    return this.journal?.liveCount ?? 0;
  }

  depth(): number {
    return this.pending.length;
  }

  async write(record: CallRecord): Promise<WriteOutcome> {
    if (this.closed) throw new Error('CallRecordWriter is closed');
    // With a backlog the store was failing a moment ago: join the queue rather than wait on it again.
    const backlog = this.pending.length > 0;
    const entry = await this.serial(async () => {
      await appendDurably(this.file, `${JSON.stringify(record)}\n`);
      const e: Entry = { seq: ++this.seq, record, inflight: !backlog };
      this.pending.push(e);
      // Only now, with the record on disk, does the call stop needing recovery.
      await this.journal?.ended(record.callSid).catch(() => undefined);
      return e;
    });
    if (backlog) {
      this.schedule();
      return 'queued';
    }
    try {
      await withDeadline(this.opts.store.saveCallRecord(record), this.attemptTimeoutMs);
      await this.serial(() => this.rewrite(new Set([entry.seq])));
      return 'stored';
    } catch (err) {
      if (isPermanentStoreError(err)) {
        await this.deadLetter(record, err);
        await this.serial(() => this.rewrite(new Set([entry.seq])));
        return 'rejected';
      }
      wlog.warn(
        { callSid: record.callSid, err: describeStoreError(err) },
        'store unavailable; call record queued in outbox',
      );
      entry.inflight = false;
      this.schedule();
      return 'queued';
    }
  }

  /** Retries now and until the queue is empty or the time is up; resolves to what is still queued. */
  async flush(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let pause = 50;
    while (this.pending.length > 0 && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await withDeadline(this.drain(), left).catch(() => undefined);
      if (this.pending.length === 0) break;
      const rest = deadline - Date.now();
      if (rest <= 0) break;
      await sleep(Math.min(pause, rest));
      pause = Math.min(pause * 2, 1000);
    }
    // The file is rewritten after the queue shrinks: wait for it, so "0 left" also holds on disk.
    await this.fileOps;
    return this.pending.length;
  }

  /** Stops retrying; whatever is still queued stays in the file for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.journal?.close();
    await this.draining;
    await this.fileOps;
  }

  // ---- internals

  /** File operations run one at a time so an append never interleaves with a rewrite. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.fileOps.then(fn, fn);
    this.fileOps = run.catch(() => undefined);
    return run;
  }

  private async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if (typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOENT') return;
      throw err;
    }
    let bad = 0;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        this.pending.push({ seq: ++this.seq, record: parseCallRecord(JSON.parse(line)), inflight: false });
      } catch {
        bad++; // a line torn by a crash mid-append, or not ours
      }
    }
    // Rewritten clean so the next append cannot glue itself onto a torn last line.
    if (bad > 0 || (text.length > 0 && !text.endsWith('\n'))) {
      wlog.warn({ bad }, 'outbox file had unreadable lines; they were dropped');
      await this.serial(() => this.rewrite(new Set()));
    }
  }

  /** Calls the previous process died under become records (queued like any other), then a fresh journal starts. */
  private async recoverLiveCalls(): Promise<void> {
    const queued = new Set(this.pending.map((e) => e.record.callSid));
    const { journal, orphans } = await LiveCallJournal.open(this.outboxDir, queued, this.opts.journal);
    if (orphans.length > 0) {
      await this.serial(async () => {
        await appendDurably(this.file, orphans.map((r) => `${JSON.stringify(r)}\n`).join(''));
        for (const record of orphans) this.pending.push({ seq: ++this.seq, record, inflight: false });
      });
    }
    await journal.reset();
    this.journal = journal;
  }

  private schedule(delayMs?: number): void {
    if (this.timer || this.closed || !this.pending.some((e) => !e.inflight)) return;
    const backoff = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(this.failures, 30));
    const delay = delayMs ?? Math.round(backoff * (0.5 + this.random() / 2));
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.drain();
    }, delay);
    // A queued record must never keep the process alive: it is on disk and replays at next start.
    this.timer.unref();
  }

  private drain(): Promise<void> {
    this.draining ??= this.drainOnce()
      .catch((err: unknown) => wlog.error({ err: describeStoreError(err) }, 'outbox drain failed'))
      .finally(() => {
        this.draining = null;
      });
    return this.draining;
  }

  private async drainOnce(): Promise<void> {
    const done = new Set<number>();
    let failed = false;
    for (const e of this.pending.slice()) {
      if (this.closed) break;
      if (e.inflight) continue;
      try {
        await withDeadline(this.opts.store.saveCallRecord(e.record), this.attemptTimeoutMs);
        done.add(e.seq);
      } catch (err) {
        if (isPermanentStoreError(err)) {
          await this.deadLetter(e.record, err);
          done.add(e.seq);
          continue;
        }
        failed = true; // the store is still down: the rest would fail the same way
        break;
      }
    }
    if (done.size > 0) await this.serial(() => this.rewrite(done));
    if (failed) this.failures++;
    else this.failures = 0;
    if (done.size > 0) wlog.info({ stored: done.size, queued: this.pending.length }, 'outbox drained');
    this.schedule();
  }

  /** Drops the stored entries and rewrites the file atomically (temp file, fsync, rename). */
  private async rewrite(done: ReadonlySet<number>): Promise<void> {
    this.pending = this.pending.filter((e) => !done.has(e.seq));
    if (this.pending.length === 0) {
      await rm(this.file, { force: true });
      return;
    }
    await replaceDurably(this.file, this.pending.map((e) => `${JSON.stringify(e.record)}\n`).join(''));
  }

  private async deadLetter(record: CallRecord, err: unknown): Promise<void> {
    wlog.error(
      { callSid: record.callSid, err: describeStoreError(err) },
      'store rejected call record; moved to dead-letter file',
    );
    const rejected = { rejectedAt: new Date().toISOString(), error: describeStoreError(err), record };
    const line = `${JSON.stringify(rejected)}\n`;
    await this.serial(() => appendDurably(this.rejectedFile, line));
  }
}
