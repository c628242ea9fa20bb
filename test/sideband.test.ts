import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CallerSide } from '../src/call/data-plane.js';
import { ResponseLifecycle } from '../src/call/response-lifecycle.js';
import { log } from '../src/log.js';
import { ModelConnection, type ModelControlEvent } from '../src/providers/realtime-connection.js';
import type { ReconnectReport } from '../src/providers/reconnecting-connection.js';
import { sidebandDialect } from '../src/providers/sip-session.js';
import { SidebandLink } from '../src/transports/openai-sip/sideband-link.js';
import { SidebandPlane } from '../src/transports/openai-sip/sideband-plane.js';
import { until } from './support/relay-harness.js';

// A SIP call's control channel and its audio-less data plane, against a bare sideband endpoint: a
// dropped socket is attached again to the same call, a call OpenAI no longer knows is a hang-up, a
// sideband gone for good is reported once; the plane reports speech, "heard" and the end.

const quiet = log.child({ test: 'sideband' });

interface Endpoint {
  url: string;
  sockets: WebSocket[];
  /** Upgrades answered with this HTTP status instead (null: accepted). */
  refuse: number | null;
  received: string[];
  close(): Promise<void>;
}

async function endpoint(): Promise<Endpoint> {
  const server: Server = createServer();
  const wss = new WebSocketServer({ noServer: true });
  const ep: Endpoint = {
    url: '',
    sockets: [],
    refuse: null,
    received: [],
    close: async () => {
      for (const s of ep.sockets) s.terminate();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  server.on('upgrade', (req, socket, head) => {
    if (ep.refuse !== null) {
      socket.end(`HTTP/1.1 ${ep.refuse} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ep.sockets.push(ws);
      ep.received.push(`open ${req.url}`);
      ws.on('message', (data) => {
        const text = data.toString();
        ep.received.push(text);
        if (text.includes('"session.update"')) ws.send(JSON.stringify({ type: 'session.updated', session: {} }));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  ep.url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/v1/realtime`;
  return ep;
}

function link(ep: Endpoint, windowMs = 2000) {
  const seen = { events: [] as ModelControlEvent[], gone: 0, closes: [] as number[], reports: [] as ReconnectReport[] };
  const spec = { instructions: 'Be kind.', voice: 'marin', tools: [], transcription: null };
  const l = new SidebandLink(
    () =>
      new ModelConnection({
        dialect: sidebandDialect('rtc_123'),
        baseUrl: ep.url,
        model: 'gpt-realtime-2.1',
        apiKey: 'sk-test',
        session: spec,
        log: quiet,
      }),
    { event: (e) => seen.events.push(e), gone: () => seen.gone++ },
    quiet,
    { windowMs, delaysMs: [0, 50, 100] },
  );
  l.attach({
    onAudio: () => {},
    onEvent: () => {},
    onClose: (code) => seen.closes.push(code),
    onReconnect: (r) => seen.reports.push(r),
  });
  return { link: l, seen };
}

let ep: Endpoint | undefined;
let open: SidebandLink | undefined;
afterEach(async () => {
  open?.close();
  await ep?.close();
  ep = undefined;
  open = undefined;
});

const updated = (seen: { events: ModelControlEvent[] }) => seen.events.some((e) => e.type === 'sessionUpdated');

describe('sideband link', () => {
  it('opens ?call_id= with the session (no model, no audio formats, OpenAI interrupts)', async () => {
    ep = await endpoint();
    const { link: l, seen } = link(ep);
    open = l;
    await until(() => updated(seen), 3000, 'session.updated');
    expect(ep.received[0]).toBe('open /v1/realtime?call_id=rtc_123');
    const update = JSON.parse(ep.received[1] ?? '{}') as { session: Record<string, unknown> };
    expect(update.session.model).toBeUndefined();
    expect(JSON.stringify(update.session)).not.toContain('audio/pcmu');
    expect(JSON.stringify(update.session)).toContain('"interrupt_response":true');
  });

  it('attaches again after a drop, sends what was asked meanwhile, and reports the reattach', async () => {
    ep = await endpoint();
    const { link: l, seen } = link(ep);
    open = l;
    await until(() => updated(seen), 3000, 'session.updated');
    ep.refuse = 503;
    ep.sockets[0]?.terminate();
    await until(() => !l.attached, 2000, 'the drop noticed');
    // Asked while detached: kept, and sent once attached again.
    l.createResponse('Say hello.');
    await new Promise((r) => setTimeout(r, 120));
    ep.refuse = null;
    await until(() => seen.reports.length === 1, 3000, 'the reattach');
    expect(seen.reports[0]?.ok).toBe(true);
    expect(l.reattaches).toBe(1);
    await until(() => ep?.received.some((m) => m.includes('Say hello.')) ?? false, 2000, 'the queued response.create');
    expect(ep.received.filter((m) => m.startsWith('open ')).length).toBe(2);
    expect(seen.closes).toEqual([]);
    expect(seen.gone).toBe(0);
  });

  it('reads a 404 on reattach as the call having ended at OpenAI (a hang-up, not a model failure)', async () => {
    ep = await endpoint();
    const { link: l, seen } = link(ep);
    open = l;
    await until(() => updated(seen), 3000, 'session.updated');
    ep.refuse = 404;
    ep.sockets[0]?.close(1000);
    await until(() => seen.gone === 1, 3000, 'gone');
    expect(seen.closes).toEqual([]);
  });

  it('gives up after the window when the sideband cannot be reached, once', async () => {
    ep = await endpoint();
    const { link: l, seen } = link(ep, 400);
    open = l;
    await until(() => updated(seen), 3000, 'session.updated');
    ep.refuse = 503;
    ep.sockets[0]?.terminate();
    await until(() => seen.closes.length === 1, 3000, 'the give-up');
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.closes.length).toBe(1);
    expect(seen.reports.at(-1)?.ok).toBe(false);
    expect(seen.gone).toBe(0);
  });
});

describe('sideband plane', () => {
  function plane() {
    const told: string[] = [];
    let hangups = 0;
    const side: CallerSide = {
      drained: () => told.push('drained'),
      audioStarted: () => told.push('audioStarted'),
      dtmf: (d) => told.push(`dtmf ${d}`),
      hungUp: () => told.push('hungUp'),
      lineClosed: () => told.push('lineClosed'),
    };
    const responses = new ResponseLifecycle();
    const p = new SidebandPlane(async () => {
      hangups++;
    }, quiet);
    p.attach(side, responses);
    return { p, told, responses, hangups: () => hangups };
  }

  it('reports speech once per response and "heard" just after the response ends', async () => {
    const { p, told } = plane();
    p.modelEvent({ type: 'assistantItem', responseId: 'resp_1', itemId: 'item_1' });
    p.modelEvent({ type: 'assistantItem', responseId: 'resp_1', itemId: 'item_2' });
    p.responseEnded();
    expect(told).toEqual(['audioStarted']);
    await Promise.resolve();
    expect(told).toEqual(['audioStarted', 'drained']);
    expect(p.interrupt()).toEqual([]);
    expect(p.stats().framesIn + p.stats().framesOut).toBe(0);
  });

  it('waits for OpenAI to finish playing a response before reporting it heard', async () => {
    const { p, told } = plane();
    p.modelEvent({ type: 'assistantItem', responseId: 'resp_1', itemId: 'item_1' });
    p.modelEvent({ type: 'outputBuffer', phase: 'started', responseId: 'resp_1' });
    p.responseEnded();
    await new Promise((r) => setTimeout(r, 20));
    expect(told).toEqual(['audioStarted']);
    p.modelEvent({ type: 'outputBuffer', phase: 'stopped', responseId: 'resp_1' });
    expect(told).toEqual(['audioStarted', 'drained']);
    // Cut by the caller: the playback ended there.
    p.modelEvent({ type: 'outputBuffer', phase: 'started', responseId: 'resp_2' });
    p.responseEnded();
    p.modelEvent({ type: 'outputBuffer', phase: 'cleared', responseId: 'resp_2' });
    expect(told).toEqual(['audioStarted', 'drained', 'drained']);
  });

  it('hangs the call up over REST once when the call ends or the sideband is lost', () => {
    const a = plane();
    a.p.playApology();
    expect(a.p.finish()).toEqual([]);
    expect(a.hangups()).toBe(1);
  });

  it('does not hang up a call that already ended at OpenAI; reports it as the caller hanging up', () => {
    const b = plane();
    b.p.callGone();
    b.p.callGone();
    b.p.finish();
    expect(b.told).toEqual(['hungUp']);
    expect(b.hangups()).toBe(0);
  });
});
