import { readFile, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { log } from '../log.js';
import { parseCallRecord, renderTranscript, type CallRecord } from './call-record.js';
import { appendDurably, replaceDurably } from './durable-file.js';

// Calls in progress, on disk: a `start` line when a call begins, an `end` line once its record is in
// the outbox. A process killed mid-call (SIGKILL, OOM, a host crash) leaves starts without ends; the
// next process on the same DATA_DIR turns each into a record ending `relay_restarted`, so every call
// that started still has exactly one row. While calls are live the file's mtime is refreshed every
// few seconds: it dates the crash, which becomes the recovered call's end. One DATA_DIR per process.

export const LIVE_FILE = 'live-calls.jsonl';
export const RELAY_RESTARTED = 'relay_restarted';
const RECOVERED_NOTE = 'The relay stopped during this call (process killed or host lost); what was said was not saved.';

type Line = { op: 'start'; record: CallRecord } | { op: 'end'; callSid: string };

const jlog = log.child({ mod: 'live-calls' });

function parseLine(text: string): Line | null {
  try {
    const raw: unknown = JSON.parse(text);
    if (typeof raw !== 'object' || raw === null || !('op' in raw)) return null;
    if (raw.op === 'start' && 'record' in raw) return { op: 'start', record: parseCallRecord(raw.record) };
    if (raw.op === 'end' && 'callSid' in raw && typeof raw.callSid === 'string')
      return { op: 'end', callSid: raw.callSid };
    return null;
  } catch {
    return null; // a line torn by the crash
  }
}

/** The record of a call whose process died under it: it ended no later than the file's last refresh. */
function recovered(start: CallRecord, diedAt: Date): CallRecord {
  const endedAt = new Date(Math.max(diedAt.getTime(), start.startedAt.getTime()));
  const transcript = [
    { role: 'system' as const, text: RECOVERED_NOTE, atMs: endedAt.getTime() - start.startedAt.getTime() },
  ];
  return {
    ...start,
    endedAt,
    durationMs: endedAt.getTime() - start.startedAt.getTime(),
    endReason: RELAY_RESTARTED,
    transcript,
    transcriptText: renderTranscript(transcript),
  };
}

export interface LiveCallJournalOptions {
  /** How often the file's mtime is refreshed while calls are live. Default 5000. */
  heartbeatMs?: number;
  /** `end` lines tolerated before the file is rewritten with only the live calls. Default 2000. */
  compactAfter?: number;
}

export class LiveCallJournal {
  private readonly live = new Map<string, CallRecord>();
  private ends = 0;
  private ops: Promise<unknown> = Promise.resolve();
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly heartbeatMs: number;
  private readonly compactAfter: number;

  private constructor(
    private readonly file: string,
    opts: LiveCallJournalOptions,
  ) {
    this.heartbeatMs = opts.heartbeatMs ?? 5000;
    this.compactAfter = opts.compactAfter ?? 2000;
  }

  /**
   * Reads what the previous process left: the records of calls it never finished (except those in
   * `alreadyQueued`, whose real record survived). The caller queues them durably, then calls
   * `reset()` to start this process's journal.
   */
  static async open(
    dir: string,
    alreadyQueued: ReadonlySet<string>,
    opts: LiveCallJournalOptions = {},
  ): Promise<{ journal: LiveCallJournal; orphans: CallRecord[] }> {
    const journal = new LiveCallJournal(join(dir, LIVE_FILE), opts);
    let text = '';
    let diedAt = new Date();
    try {
      text = await readFile(journal.file, 'utf8');
      diedAt = (await stat(journal.file)).mtime;
    } catch (err) {
      if (!(typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOENT')) throw err;
    }
    const started = new Map<string, CallRecord>();
    let bad = 0;
    for (const lineText of text.split('\n')) {
      if (lineText.trim() === '') continue;
      const line = parseLine(lineText);
      if (!line) bad++;
      else if (line.op === 'start') started.set(line.record.callSid, line.record);
      else started.delete(line.callSid);
    }
    if (bad > 0) jlog.warn({ bad }, 'live-call journal had unreadable lines; they were skipped');
    const orphans = [...started.values()].filter((r) => !alreadyQueued.has(r.callSid)).map((r) => recovered(r, diedAt));
    if (orphans.length > 0)
      jlog.warn(
        { calls: orphans.length },
        'calls were live when the previous process stopped; recording them as relay_restarted',
      );
    return { journal, orphans };
  }

  /** Starts this process's journal (the previous one's orphans are queued by now). */
  reset(): Promise<void> {
    return this.serial(() => rm(this.file, { force: true }));
  }

  get liveCount(): number {
    return this.live.size;
  }

  /** A call began. Not awaited by the call: the line lands in the background, in order. */
  started(record: CallRecord): Promise<void> {
    this.live.set(record.callSid, record);
    this.beat();
    return this.serial(() => this.append({ op: 'start', record }));
  }

  /** The call's final record is durably queued: it no longer needs recovering. */
  ended(callSid: string): Promise<void> {
    if (!this.live.delete(callSid)) return Promise.resolve();
    this.ends++;
    if (this.live.size === 0) {
      this.stopBeat();
      this.ends = 0;
      return this.serial(() => rm(this.file, { force: true }));
    }
    if (this.ends >= this.compactAfter) {
      this.ends = 0;
      return this.serial(() => this.compact());
    }
    return this.serial(() => this.append({ op: 'end', callSid }));
  }

  /** Stops the heartbeat; the file stays for the next process (live calls in it are recovered). */
  async close(): Promise<void> {
    this.stopBeat();
    await this.ops;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.ops.then(fn, fn);
    this.ops = run.catch((err: unknown) =>
      jlog.error({ err: err instanceof Error ? err.message : String(err) }, 'live-call journal write failed'),
    );
    return run;
  }

  private append(line: Line): Promise<void> {
    return appendDurably(this.file, `${JSON.stringify(line)}\n`);
  }

  private compact(): Promise<void> {
    return replaceDurably(
      this.file,
      [...this.live.values()].map((record) => `${JSON.stringify({ op: 'start', record })}\n`).join(''),
    );
  }

  private beat(): void {
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => {
      const now = new Date();
      void this.serial(() => utimes(this.file, now, now).catch(() => undefined));
    }, this.heartbeatMs);
    this.heartbeat.unref();
  }

  private stopBeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}
