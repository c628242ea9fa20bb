import type { HttpResponse } from '../transports/uws.js';
import type { LiveSink } from './live-hub.js';

// A Server-Sent Events stream over a uWS response. uWS buffers what a slow client has not read and
// says so (write returns false); the hub then stops writing to it until onWritable reports it
// drained. Every write after the handler returned is corked, as uWS requires.

export interface SseStream extends LiveSink {
  readonly closed: boolean;
  onDrain(fn: () => void): void;
  onClose(fn: () => void): void;
}

export function openSse(res: HttpResponse, headers: Record<string, string>): SseStream {
  let closed = false;
  let drain: () => void = () => {};
  let closeFns: Array<() => void> = [];
  const closing = (): void => {
    if (closed) return;
    closed = true;
    for (const fn of closeFns) fn();
    closeFns = [];
  };
  res.onAborted(closing);
  res.onWritable(() => {
    drain();
    return true;
  });
  res.cork(() => {
    res.writeStatus('200 OK');
    res.writeHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.writeHeader('Cache-Control', 'no-store');
    // Proxies that buffer responses would hold every event back.
    res.writeHeader('X-Accel-Buffering', 'no');
    for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
    res.write('retry: 2000\n\n');
  });
  return {
    get closed() {
      return closed;
    },
    send(text: string): boolean {
      if (closed) return true;
      let ok = true;
      res.cork(() => {
        ok = res.write(text);
      });
      return ok;
    },
    close(): void {
      if (closed) return;
      res.cork(() => res.end());
      closing();
    },
    onDrain(fn) {
      drain = fn;
    },
    onClose(fn) {
      if (closed) fn();
      else closeFns.push(fn);
    },
  };
}
