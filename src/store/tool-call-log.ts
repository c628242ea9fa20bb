import type { StoredToolCall } from './call-record.js';
import type { ToolExecutor } from '../tools/tool.js';

// The tool calls of each live call, with their arguments and outputs, kept until the call's record is
// written. The call core records only a tool's name and duration; the console's call page also
// shows what the model asked for and what it was told, so the executor is wrapped here.

/** Tool calls kept per call; a model looping on a tool must not grow memory without bound. */
const MAX_PER_CALL = 100;
/** Longest argument or output text kept (characters); the rest is cut with a mark. */
const MAX_TEXT = 4000;

interface Pending {
  startedAt: number;
  name: string;
  ms: number;
  ok: boolean;
  arguments: string;
  output: string;
}

/** Calls remembered at once; a tool that finishes after its call's record was written leaves one behind. */
const MAX_CALLS = 10_000;

const cut = (s: string): string => (s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}… [cut]` : s);

export class ToolCallLog {
  private readonly byCall = new Map<string, Pending[]>();

  /** `run`, with each call and its answer noted under the call's sid. */
  wrap(run: ToolExecutor): ToolExecutor {
    return async (call, ctx) => {
      const startedAt = Date.now();
      const note = (ok: boolean, output: string): void =>
        this.note(ctx.callSid, {
          startedAt,
          name: call.name,
          ms: Date.now() - startedAt,
          ok,
          arguments: call.arguments,
          output,
        });
      try {
        const out = await run(call, ctx);
        note(out.ok, out.output);
        return out;
      } catch (err) {
        // The always-an-answer rule (run-safely.ts) turns this into the model's output; noted as failed.
        note(false, `threw: ${err instanceof Error ? err.message : String(err)}`);
        throw err;
      }
    };
  }

  private note(callSid: string, p: Pending): void {
    let list = this.byCall.get(callSid);
    if (!list) {
      if (this.byCall.size >= MAX_CALLS) {
        const oldest = this.byCall.keys().next();
        if (!oldest.done) this.byCall.delete(oldest.value);
      }
      list = [];
      this.byCall.set(callSid, list);
    }
    if (list.length < MAX_PER_CALL) list.push({ ...p, arguments: cut(p.arguments), output: cut(p.output) });
  }

  /** The call's tool calls relative to its start, forgotten here once taken. */
  take(callSid: string, callStartedAt: Date): StoredToolCall[] {
    const list = this.byCall.get(callSid) ?? [];
    this.byCall.delete(callSid);
    const t0 = callStartedAt.getTime();
    return list.map(({ startedAt, ...rest }) => ({ ...rest, atMs: Math.max(0, startedAt - t0) }));
  }

  get size(): number {
    return this.byCall.size;
  }
}
