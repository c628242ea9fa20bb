import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { log } from '../log.js';
import { appendDurably, replaceDurably } from './durable-file.js';

// Outgoing work that must survive an outage of the far end and the relay's own restart: owner SMS
// and post-call webhooks. The call-record outbox's rules (outbox.ts), for any job with a stable id:
// a job is appended and fsync'd to <dir>/<name>.jsonl BEFORE its first attempt; each attempt is
// counted in the file before it starts (so a job a crash interrupted mid-send is known to be
// "maybe sent" on replay); a delivered job leaves the file and its id goes to <name>.done.jsonl, so
// the same event raised again (a retried Twilio callback, a replay) is not sent twice; a job the far
// end refuses for good goes to <name>.dead.jsonl and the log. Retries back off per job, with jitter,
// on an unref'd timer, and a job still failing after `maxAgeMs` is dead-lettered too.

export interface QueuedJob<T> {
  /** Stable id of the event: the dedupe key, and what a receiver can dedupe on. */
  id: string;
  payload: T;
  enqueuedAt: string;
  /** Attempts started so far (counted before each starts, so a crash mid-attempt counts it). */
  attempts: number;
  /** ISO time before which no attempt starts (a delivery held back on purpose). */
  notBefore?: string;
}

/** What one attempt came to. `retry` may say when (a Retry-After); `update` replaces the stored payload. */
export type Delivery<T> =
  | { kind: 'done'; update?: T }
  | { kind: 'retry'; reason: string; retryAfterMs?: number; update?: T }
  | { kind: 'dead'; reason: string; update?: T };

export type EnqueueOutcome = 'queued' | 'duplicate';

export interface DurableQueueOptions<T> {
  /** Directory of the files (created 0700). */
  dir: string;
  /** File stem, e.g. 'owner-sms'. */
  name: string;
  /** Parses a stored payload (a line a newer or older relay wrote must not crash the replay). */
  parse(payload: unknown): T;
  deliver(job: QueuedJob<T>): Promise<Delivery<T>>;
  /** One attempt's deadline. Default 15000. */
  attemptTimeoutMs?: number;
  /** First retry delay. Default 1000. */
  baseDelayMs?: number;
  /** Backoff cap. Default 300000 (5 minutes). */
  maxDelayMs?: number;
  /** A job still undelivered this long after it was queued is dead-lettered. Default 3 days. */
  maxAgeMs?: number;
  /** Delivered ids remembered for dedupe. Default 10000. */
  rememberDone?: number;
  random?: () => number;
  /** Jobs delivered at once. Default 4. */
  concurrency?: number;
}

interface Slot<T> {
  job: QueuedJob<T>;
  failures: number;
  /** Epoch ms of the next attempt. */
  dueAt: number;
  busy: boolean;
}

const qlog = log.child({ mod: 'durable-queue' });

async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function isMissing(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOENT';
}

async function readLines(file: string): Promise<string[]> {
  try {
    return (await readFile(file, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
}

export class DurableQueue<T> {
  private readonly slots = new Map<string, Slot<T>>();
  private readonly done = new Set<string>();
  private doneLines = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private fileOps: Promise<unknown> = Promise.resolve();
  private running = 0;
  private readonly inflight = new Set<Promise<void>>();
  private closed = false;
  private readonly file: string;
  private readonly doneFile: string;
  private readonly deadFile: string;
  private readonly attemptTimeoutMs: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxAgeMs: number;
  private readonly rememberDone: number;
  private readonly random: () => number;
  private readonly concurrency: number;

  private constructor(private readonly opts: DurableQueueOptions<T>) {
    this.file = join(opts.dir, `${opts.name}.jsonl`);
    this.doneFile = join(opts.dir, `${opts.name}.done.jsonl`);
    this.deadFile = join(opts.dir, `${opts.name}.dead.jsonl`);
    this.attemptTimeoutMs = opts.attemptTimeoutMs ?? 15_000;
    this.baseDelayMs = opts.baseDelayMs ?? 1000;
    this.maxDelayMs = opts.maxDelayMs ?? 300_000;
    this.maxAgeMs = opts.maxAgeMs ?? 3 * 24 * 3600_000;
    this.rememberDone = opts.rememberDone ?? 10_000;
    this.random = opts.random ?? Math.random;
    this.concurrency = opts.concurrency ?? 4;
  }

  /** Loads what a previous process left and starts delivering it. */
  static async open<T>(opts: DurableQueueOptions<T>): Promise<DurableQueue<T>> {
    await mkdir(opts.dir, { recursive: true, mode: 0o700 });
    const q = new DurableQueue(opts);
    await q.load();
    if (q.slots.size > 0) {
      qlog.info({ queue: opts.name, queued: q.slots.size }, 'replaying queued deliveries');
      q.schedule();
    }
    return q;
  }

  depth(): number {
    return this.slots.size;
  }

  /**
   * Written to disk before it resolves; `duplicate` when this id is queued or was delivered already.
   * `delayMs` holds the first attempt back.
   */
  async enqueue(id: string, payload: T, opts: { delayMs?: number } = {}): Promise<EnqueueOutcome> {
    if (this.closed) throw new Error(`queue ${this.opts.name} is closed`);
    if (this.slots.has(id) || this.done.has(id)) return 'duplicate';
    const dueAt = Date.now() + (opts.delayMs ?? 0);
    const job: QueuedJob<T> = { id, payload, enqueuedAt: new Date().toISOString(), attempts: 0 };
    if (opts.delayMs) job.notBefore = new Date(dueAt).toISOString();
    const slot: Slot<T> = { job, failures: 0, dueAt, busy: false };
    this.slots.set(id, slot);
    try {
      await this.serial(() => appendDurably(this.file, `${JSON.stringify(job)}\n`));
    } catch (err) {
      this.slots.delete(id);
      throw err;
    }
    this.schedule();
    return 'queued';
  }

  /**
   * Replaces the payload of a job still waiting (not being attempted right now), with a new hold-back;
   * false when there is no such job.
   */
  async replace(id: string, payload: T, opts: { delayMs?: number } = {}): Promise<boolean> {
    const slot = this.slots.get(id);
    if (!slot || slot.busy || this.closed) return false;
    slot.job.payload = payload;
    slot.dueAt = Date.now() + (opts.delayMs ?? 0);
    if (opts.delayMs) slot.job.notBefore = new Date(slot.dueAt).toISOString();
    else delete slot.job.notBefore;
    await this.serial(() => this.rewrite());
    this.schedule();
    return true;
  }

  /**
   * Attempts every job once now (backoff set aside), then retries as they fall due, until none is
   * left or the time is up; returns what is left.
   */
  async flush(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (const s of this.slots.values()) s.dueAt = Math.min(s.dueAt, Date.now());
    while (this.slots.size > 0 && !this.closed && Date.now() < deadline) {
      this.pump();
      await withDeadline(this.idle(), Math.max(1, deadline - Date.now())).catch(() => undefined);
      if (this.slots.size === 0) break;
      let next = deadline;
      for (const s of this.slots.values()) next = Math.min(next, s.dueAt);
      await new Promise((r) => setTimeout(r, Math.max(10, Math.min(next, deadline) - Date.now())));
    }
    await this.fileOps;
    return this.slots.size;
  }

  /** Stops delivering; what is queued stays in the file for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.idle();
    await this.fileOps;
  }

  // ---- internals

  private async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  private serial<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.fileOps.then(fn, fn);
    this.fileOps = run.catch(() => undefined);
    return run;
  }

  private async load(): Promise<void> {
    const done = await readLines(this.doneFile);
    for (const id of done.slice(-this.rememberDone)) this.done.add(id);
    this.doneLines = done.length;
    if (done.length > this.rememberDone) await this.compactDone();
    let bad = 0;
    const lines = await readLines(this.file);
    for (const line of lines) {
      try {
        const raw: unknown = JSON.parse(line);
        if (typeof raw !== 'object' || raw === null) throw new Error('not an object');
        const r = raw as Record<string, unknown>;
        if (typeof r.id !== 'string' || typeof r.enqueuedAt !== 'string') throw new Error('no id');
        const job: QueuedJob<T> = {
          id: r.id,
          payload: this.opts.parse(r.payload),
          enqueuedAt: r.enqueuedAt,
          attempts: typeof r.attempts === 'number' ? r.attempts : 0,
        };
        const notBefore = typeof r.notBefore === 'string' ? Date.parse(r.notBefore) : Number.NaN;
        if (!Number.isNaN(notBefore)) job.notBefore = new Date(notBefore).toISOString();
        if (this.done.has(job.id)) continue;
        // A later line for the same id (an attempt counted) replaces the earlier one.
        const dueAt = Number.isNaN(notBefore) ? Date.now() : Math.max(Date.now(), notBefore);
        this.slots.set(job.id, { job, failures: 0, dueAt, busy: false });
      } catch {
        bad++; // a line torn by a crash mid-append, or not ours
      }
    }
    if (bad > 0) qlog.warn({ queue: this.opts.name, bad }, 'queue file had unreadable lines; they were dropped');
    if (bad > 0 || lines.length !== this.slots.size) await this.serial(() => this.rewrite());
  }

  private async compactDone(): Promise<void> {
    const keep = [...this.done].slice(-this.rememberDone);
    await this.serial(() => replaceDurably(this.doneFile, keep.map((id) => `${id}\n`).join('')));
    this.doneLines = keep.length;
  }

  /** The file as the queue stands now (temp file, fsync, rename). */
  private async rewrite(): Promise<void> {
    if (this.slots.size === 0) {
      await rm(this.file, { force: true });
      return;
    }
    const text = [...this.slots.values()].map((s) => `${JSON.stringify(s.job)}\n`).join('');
    await replaceDurably(this.file, text);
  }

  private schedule(): void {
    if (this.closed) return;
    let next = Number.POSITIVE_INFINITY;
    for (const s of this.slots.values()) if (!s.busy) next = Math.min(next, s.dueAt);
    if (next === Number.POSITIVE_INFINITY) return;
    if (this.timer && this.timerAt <= next) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(0, next - Date.now()),
    );
    // A queued job never keeps the process alive: it is on disk and replays at the next start.
    this.timer.unref();
  }

  private pump(): void {
    if (this.closed) return;
    const now = Date.now();
    for (const s of this.slots.values()) {
      if (this.running >= this.concurrency) break;
      if (s.busy || s.dueAt > now) continue;
      s.busy = true;
      this.running++;
      const p = this.attempt(s)
        .catch((err: unknown) =>
          qlog.error({ queue: this.opts.name, id: s.job.id, err: String(err) }, 'delivery attempt failed'),
        )
        .finally(() => {
          s.busy = false;
          this.running--;
          this.inflight.delete(p);
          this.pump();
        });
      this.inflight.add(p);
    }
    this.schedule();
  }

  private async attempt(s: Slot<T>): Promise<void> {
    const { job } = s;
    if (Date.now() - Date.parse(job.enqueuedAt) > this.maxAgeMs) {
      await this.finish(s, 'dead', `undelivered after ${Math.round(this.maxAgeMs / 3600_000)} h`);
      return;
    }
    job.attempts++;
    // Counted on disk first: after a crash the job is replayed knowing it may already have gone out.
    await this.serial(() => this.rewrite());
    let outcome: Delivery<T>;
    try {
      outcome = await withDeadline(this.opts.deliver(job), this.attemptTimeoutMs);
    } catch (err) {
      outcome = { kind: 'retry', reason: err instanceof Error ? err.message : String(err) };
    }
    if (outcome.update !== undefined) job.payload = outcome.update;
    switch (outcome.kind) {
      case 'done':
        await this.finish(s, 'done');
        return;
      case 'dead':
        await this.finish(s, 'dead', outcome.reason);
        return;
      case 'retry': {
        s.failures++;
        const backoff = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(s.failures - 1, 30));
        const delay = Math.max(outcome.retryAfterMs ?? 0, Math.round(backoff * (0.5 + this.random() / 2)));
        s.dueAt = Date.now() + delay;
        if (outcome.update !== undefined) await this.serial(() => this.rewrite());
        qlog.warn(
          { queue: this.opts.name, id: job.id, attempts: job.attempts, retryInMs: delay, reason: outcome.reason },
          'delivery failed; will retry',
        );
        return;
      }
      default: {
        const never: never = outcome;
        throw new Error(`unknown delivery outcome ${JSON.stringify(never)}`);
      }
    }
  }

  private async finish(s: Slot<T>, how: 'done' | 'dead', reason?: string): Promise<void> {
    const { job } = s;
    this.slots.delete(job.id);
    this.done.add(job.id);
    if (how === 'dead') {
      qlog.error({ queue: this.opts.name, id: job.id, attempts: job.attempts, reason }, 'delivery given up');
      const line = `${JSON.stringify({ deadAt: new Date().toISOString(), reason, job })}\n`;
      await this.serial(() => appendDurably(this.deadFile, line));
    }
    // The id is remembered before the job leaves the queue file: a crash between the two replays
    // nothing, rather than sending twice.
    await this.serial(() => appendDurably(this.doneFile, `${job.id}\n`));
    this.doneLines++;
    await this.serial(() => this.rewrite());
    if (this.done.size > this.rememberDone) {
      const oldest = this.done.values().next();
      if (!oldest.done) this.done.delete(oldest.value);
    }
    if (this.doneLines > this.rememberDone * 2) await this.compactDone();
  }
}
