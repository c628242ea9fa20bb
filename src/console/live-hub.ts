import type { Call } from '../call/call.js';
import { maskPhone } from '../log.js';

// Live calls for the console, fed by the chart's state changes (Relay's onCallState). The call path
// only appends the change to a list (and, at most once per flush window, arms a timer): encoding and
// writing to viewers happen later, off that path, once per window however many changes came in.
// Every change is sent in order, so a viewer sees a barge-in that lasted a few milliseconds too.
// A viewer that cannot keep up is skipped, not queued for: when its socket drains it gets a fresh
// snapshot, so a slow browser costs neither the calls nor memory.

export interface LiveCallView {
  callSid: string;
  merchantId: string;
  merchant: string;
  /** Masked: the live page is often on a shared screen. */
  caller: string;
  direction: string;
  /** Epoch ms. */
  startedAt: number;
  state: string;
}

/** Where one viewer's events go. `send` returns false when the viewer's socket is backed up. */
export interface LiveSink {
  send(text: string): boolean;
  close(): void;
}

interface Viewer {
  /** null: every merchant (the operator). */
  merchantId: string | null;
  sink: LiveSink;
  stalledSince: number | null;
}

export interface LiveHubOptions {
  /** The relay's live calls (RelayServer.calls), read for snapshots. */
  calls: () => Iterable<Call>;
  /** How long changes are gathered before viewers hear of them. Default 100 ms. */
  flushMs?: number;
  /** Full snapshot to every viewer this often (also the keep-alive). Default 15 s. */
  heartbeatMs?: number;
  /** A viewer backed up this long is disconnected (its browser reconnects). Default 30 s. */
  stallLimitMs?: number;
  /** How long each delivery (and heartbeat) held the event loop, ms: the most it can delay a call's frame. */
  onFlush?: (ms: number) => void;
}

export const ENDED_STATE = 'teardown';

export function viewOf(call: Call, state: string): LiveCallView {
  const { info } = call;
  return {
    callSid: info.callSid,
    merchantId: info.merchant.id,
    merchant: info.merchant.name,
    caller: maskPhone(info.callerPhone) ?? 'unknown',
    direction: info.direction,
    startedAt: call.startedAt,
    state,
  };
}

const event = (name: string, data: unknown): string => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

export class LiveHub {
  private pending: Array<{ call: Call; state: string }> = [];
  /** Changes buffered since the last flush; past this the flush resends snapshots instead. */
  private readonly maxPending = 5000;
  private overflowed = false;
  private readonly viewers = new Set<Viewer>();
  private timer: NodeJS.Timeout | null = null;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly flushMs: number;
  private readonly stallLimitMs: number;

  constructor(private readonly opts: LiveHubOptions) {
    this.flushMs = opts.flushMs ?? 100;
    this.stallLimitMs = opts.stallLimitMs ?? 30_000;
    this.heartbeat = setInterval(() => this.beat(), opts.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
  }

  /** On the call path: O(1), never throws, writes nothing. */
  changed(call: Call, state: string): void {
    if (this.viewers.size === 0) return;
    if (this.pending.length < this.maxPending) this.pending.push({ call, state });
    else this.overflowed = true;
    if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  /** Starts a viewer with a snapshot; returns what to call when its socket drains and when it closes. */
  subscribe(merchantId: string | null, sink: LiveSink): { drained(): void; unsubscribe(): void } {
    const viewer: Viewer = { merchantId, sink, stalledSince: null };
    this.viewers.add(viewer);
    this.write(viewer, this.snapshotEvent(merchantId));
    return {
      drained: () => {
        if (viewer.stalledSince === null || !this.viewers.has(viewer)) return;
        viewer.stalledSince = null;
        this.write(viewer, this.snapshotEvent(merchantId));
      },
      unsubscribe: () => {
        this.viewers.delete(viewer);
      },
    };
  }

  snapshot(merchantId: string | null): LiveCallView[] {
    const out: LiveCallView[] = [];
    for (const call of this.opts.calls()) {
      if (call.isEnded || call.state === ENDED_STATE) continue;
      if (merchantId !== null && call.info.merchant.id !== merchantId) continue;
      out.push(viewOf(call, call.state));
    }
    return out.sort((a, b) => a.startedAt - b.startedAt);
  }

  close(): void {
    clearInterval(this.heartbeat);
    if (this.timer) clearTimeout(this.timer);
    for (const v of this.viewers) v.sink.close();
    this.viewers.clear();
  }

  private snapshotEvent(merchantId: string | null): string {
    return event('snapshot', this.snapshot(merchantId));
  }

  private flush(): void {
    const started = performance.now();
    try {
      this.deliver();
    } finally {
      this.opts.onFlush?.(performance.now() - started);
    }
  }

  private deliver(): void {
    this.timer = null;
    const changes = this.pending;
    this.pending = [];
    if (this.overflowed) {
      this.overflowed = false;
      for (const viewer of this.viewers)
        if (viewer.stalledSince === null) this.write(viewer, this.snapshotEvent(viewer.merchantId));
      return;
    }
    // Encoded once per change, not once per viewer.
    const encoded = changes.map(({ call, state }) => ({
      merchantId: call.info.merchant.id,
      text:
        state === ENDED_STATE || call.isEnded
          ? event('ended', { callSid: call.info.callSid })
          : event('call', viewOf(call, state)),
    }));
    // One text per audience (the operator's, each merchant's), shared by every viewer of it.
    const byAudience = new Map<string | null, string>();
    for (const viewer of this.viewers) {
      if (viewer.stalledSince !== null) continue;
      let text = byAudience.get(viewer.merchantId);
      if (text === undefined) {
        text = encoded
          .filter((e) => viewer.merchantId === null || viewer.merchantId === e.merchantId)
          .map((e) => e.text)
          .join('');
        byAudience.set(viewer.merchantId, text);
      }
      if (text !== '') this.write(viewer, text);
    }
  }

  private beat(): void {
    const started = performance.now();
    try {
      this.resync();
    } finally {
      this.opts.onFlush?.(performance.now() - started);
    }
  }

  private resync(): void {
    const now = Date.now();
    const byAudience = new Map<string | null, string>();
    for (const viewer of this.viewers) {
      if (viewer.stalledSince === null) {
        let text = byAudience.get(viewer.merchantId);
        if (text === undefined) {
          text = this.snapshotEvent(viewer.merchantId);
          byAudience.set(viewer.merchantId, text);
        }
        this.write(viewer, text);
      } else if (now - viewer.stalledSince > this.stallLimitMs) {
        this.viewers.delete(viewer);
        viewer.sink.close();
      }
    }
  }

  private write(viewer: Viewer, text: string): void {
    let ok = false;
    try {
      ok = viewer.sink.send(text);
    } catch {
      this.viewers.delete(viewer);
      return;
    }
    if (!ok) viewer.stalledSince = Date.now();
  }
}
