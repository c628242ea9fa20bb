import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { performance } from 'node:perf_hooks';
import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { SimCaller } from '../src/sim/twilio/caller.js';
import { FrameClock } from '../src/sim/clock/frame-clock.js';
import { silence, speechLike } from '../src/audio/speechlike.js';

type Msg = Record<string, unknown>;
const isObj = (v: unknown): v is Msg => typeof v === 'object' && v !== null && !Array.isArray(v);
const field = (m: Msg, k: string): Msg => {
  const v = m[k];
  if (!isObj(v)) throw new Error(`no object field ${k} in ${JSON.stringify(m)}`);
  return v;
};

/** One caller connection as the fake relay sees it. */
interface Conn {
  ws: WebSocket;
  headers: IncomingMessage['headers'];
  msgs: Array<{ at: number; msg: Msg }>;
  closed: Promise<number>;
}

/** A tiny relay stand-in: records what the caller sends and lets a test send anything back. */
class FakeRelay {
  readonly wss: WebSocketServer;
  readonly conns: Conn[] = [];
  private waiting: Array<(c: Conn) => void> = [];
  constructor() {
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    this.wss.on('connection', (ws, req) => {
      const conn: Conn = {
        ws,
        headers: req.headers,
        msgs: [],
        closed: new Promise<number>((r) => ws.on('close', (code) => r(code))),
      };
      ws.on('message', (data) => {
        const parsed: unknown = JSON.parse(String(data));
        if (isObj(parsed)) conn.msgs.push({ at: performance.now(), msg: parsed });
      });
      this.conns.push(conn);
      for (const w of this.waiting.splice(0)) w(conn);
    });
  }
  get url(): string {
    const a = this.wss.address();
    if (a === null || typeof a === 'string') throw new Error('unexpected address');
    return `ws://127.0.0.1:${a.port}/media-stream`;
  }
  nextConn(): Promise<Conn> {
    return new Promise((r) => this.waiting.push(r));
  }
  close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    return new Promise((r) => this.wss.close(() => r()));
  }
}

const events = (c: Conn, name: string): Msg[] => c.msgs.filter((m) => m.msg.event === name).map((m) => m.msg);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll the relay-side record (bounded). */
async function until(cond: () => boolean, timeoutMs = 4000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

let relay: FakeRelay;
const callers: SimCaller[] = [];
async function dial(
  opts: Partial<ConstructorParameters<typeof SimCaller>[0]> = {},
): Promise<{ caller: SimCaller; conn: Conn }> {
  const connP = relay.nextConn();
  const caller = await SimCaller.connect({ url: relay.url, ...opts });
  callers.push(caller);
  return { caller, conn: await connP };
}
const media = (streamSid: string, audio: Buffer): string =>
  JSON.stringify({ event: 'media', streamSid, media: { payload: audio.toString('base64') } });
const mark = (streamSid: string, name: string): string => JSON.stringify({ event: 'mark', streamSid, mark: { name } });

beforeAll(async () => {
  relay = new FakeRelay();
  await new Promise<void>((r) => relay.wss.once('listening', () => r()));
});
afterEach(async () => {
  for (const c of callers.splice(0)) if (c.state !== 'closed') await c.drop();
});
afterAll(async () => {
  await relay.close();
});

describe('SimCaller (Twilio Media Streams client)', () => {
  it('sends connected and start like Twilio, then media at about 50 frames a second', async () => {
    const { caller, conn } = await dial({
      headers: { 'X-Twilio-Signature': 'sig123' },
      customParameters: { tenantId: 't_1', answeredBy: 'human' },
      callSid: 'CA00000000000000000000000000000001',
    });
    expect(conn.headers['x-twilio-signature']).toBe('sig123');
    await until(() => events(conn, 'media').length >= 51);
    expect(conn.msgs[0]?.msg).toEqual({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    const start = conn.msgs[1]?.msg ?? {};
    expect(start).toEqual({
      event: 'start',
      sequenceNumber: '1',
      streamSid: caller.streamSid,
      start: {
        accountSid: caller.accountSid,
        streamSid: caller.streamSid,
        callSid: 'CA00000000000000000000000000000001',
        tracks: ['inbound'],
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        customParameters: { tenantId: 't_1', answeredBy: 'human' },
      },
    });
    expect(caller.streamSid).toMatch(/^MZ[0-9a-f]{32}$/);
    expect(caller.accountSid).toMatch(/^AC[0-9a-f]{32}$/);

    const frames = conn.msgs.filter((m) => m.msg.event === 'media');
    frames.slice(0, 51).forEach(({ msg }, i) => {
      expect(msg.sequenceNumber).toBe(String(i + 2));
      expect(msg.streamSid).toBe(caller.streamSid);
      const m = field(msg, 'media');
      expect(m.track).toBe('inbound');
      expect(m.chunk).toBe(String(i + 1));
      expect(m.timestamp).toBe(String(i * 20));
      expect(Buffer.from(String(m.payload), 'base64')).toEqual(silence(20));
    });
    // 50 frame intervals at 20 ms = 1 s; loose bounds because the machine is shared.
    const elapsed = (frames[50]?.at ?? 0) - (frames[0]?.at ?? 0);
    expect(elapsed).toBeGreaterThan(800);
    expect(elapsed).toBeLessThan(3000);
  });

  it('says queued audio at real pace inside the media stream', async () => {
    const { caller, conn } = await dial();
    const words = speechLike({ ms: 300, seed: 8 });
    const t0 = performance.now();
    expect(caller.speaking).toBe(false);
    const said = caller.say(words);
    expect(caller.speaking).toBe(true);
    expect(await said).toBe(true);
    // 15 frames: a lagging clock may catch up a few ticks at once (maxCatchUp 5), never all of them.
    expect(performance.now() - t0).toBeGreaterThan(180);
    await until(() => events(conn, 'media').length > 0 && caller.framesSent === events(conn, 'media').length);
    const sent = Buffer.concat(
      events(conn, 'media').map((m) => Buffer.from(String(field(m, 'media').payload), 'base64')),
    );
    expect(sent.indexOf(words)).toBeGreaterThanOrEqual(0);
    expect(caller.bytesSpoken).toBe(words.length);
  });

  it('echoes a mark only after the audio before it has played', async () => {
    const { caller, conn } = await dial();
    const audio = speechLike({ ms: 400, seed: 2 });
    conn.ws.send(mark(caller.streamSid, 'empty'));
    const sentAt = performance.now();
    conn.ws.send(media(caller.streamSid, audio));
    conn.ws.send(mark(caller.streamSid, 'after-400ms'));
    await until(() => events(conn, 'mark').length >= 2);
    const [first, second] = conn.msgs.filter((m) => m.msg.event === 'mark');
    // Nothing was queued before 'empty': echoed at once.
    expect(field(first?.msg ?? {}, 'mark').name).toBe('empty');
    expect((first?.at ?? 0) - sentAt).toBeLessThan(150);
    expect(second?.msg).toMatchObject({ event: 'mark', streamSid: caller.streamSid, mark: { name: 'after-400ms' } });
    expect(typeof second?.msg.sequenceNumber).toBe('string');
    const delay = (second?.at ?? 0) - sentAt;
    expect(delay).toBeGreaterThan(350);
    expect(delay).toBeLessThan(1500);

    expect(caller.heardBytes).toBe(3200);
    expect(caller.heardSegments).toHaveLength(1);
    const seg = caller.heardSegments[0];
    expect(seg?.bytes).toBe(3200);
    expect((seg?.endAt ?? 0) - (seg?.startAt ?? 0)).toBeGreaterThan(300);
    expect(caller.marksEchoed.map((m) => [m.name, m.cleared])).toEqual([
      ['empty', false],
      ['after-400ms', false],
    ]);
    expect(caller.heardAudio().indexOf(audio)).toBeGreaterThanOrEqual(0);
    expect(caller.heardAudio().length % 160).toBe(0);
  });

  it('clear stops playback and echoes pending marks at once', async () => {
    const { caller, conn } = await dial();
    conn.ws.send(media(caller.streamSid, speechLike({ ms: 2000, seed: 1 })));
    conn.ws.send(mark(caller.streamSid, 'end-of-reply'));
    await caller.waitFor((c) => c.heardBytes >= 1600, 3000, 'some audio heard');
    expect(caller.hearing).toBe(true);
    const clearedAt = performance.now();
    conn.ws.send(JSON.stringify({ event: 'clear', streamSid: caller.streamSid }));
    await until(() => events(conn, 'mark').length === 1);
    const echo = conn.msgs.find((m) => m.msg.event === 'mark');
    expect(field(echo?.msg ?? {}, 'mark').name).toBe('end-of-reply');
    expect((echo?.at ?? 0) - clearedAt).toBeLessThan(300);
    expect(caller.marksEchoed[0]).toMatchObject({ name: 'end-of-reply', cleared: true });
    expect(caller.clearsAt).toHaveLength(1);

    const heardAtClear = caller.heardBytes;
    await sleep(200);
    expect(caller.heardBytes).toBe(heardAtClear); // no more audio after the clear
    expect(caller.heardBytes).toBeLessThan(16000 / 2);
    expect(caller.queuedPlaybackBytes).toBe(0);
    expect(caller.hearing).toBe(false);
    const last = caller.heardSegments[caller.heardSegments.length - 1];
    expect(last?.endAt ?? Infinity).toBeLessThan((caller.clearsAt[0] ?? 0) + 60);
  });

  it('counts frames Twilio would reject and does not play them', async () => {
    const { caller, conn } = await dial();
    const sid = caller.streamSid;
    conn.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    conn.ws.send('not json');
    conn.ws.send(media('MZwrong', silence(20)));
    conn.ws.send(JSON.stringify({ event: 'hello', streamSid: sid }));
    conn.ws.send(JSON.stringify({ event: 'media', streamSid: sid, media: { payload: 'AAAA', track: 'outbound' } }));
    conn.ws.send(JSON.stringify({ event: 'media', streamSid: sid, media: { payload: '@@@@' } }));
    conn.ws.send(JSON.stringify({ event: 'mark', streamSid: sid }));
    conn.ws.send(mark(sid, 'fence'));
    await caller.waitFor((c) => c.marksEchoed.length === 1, 2000, 'fence echoed');
    expect(caller.protocolErrorCount).toBe(7);
    expect(caller.protocolErrors.map((e) => e.reason)).toEqual([
      expect.stringMatching(/binary frame/),
      'not JSON',
      expect.stringMatching(/^media: wrong streamSid/),
      expect.stringMatching(/^unsupported event "hello"/),
      'media: unexpected field media.track',
      'media: media.payload is not base64',
      'mark: missing mark.name',
    ]);
    expect(caller.mediaMessagesReceived).toBe(0);
    expect(caller.heardBytes).toBe(0);
    expect(caller.received.map((r) => r.frame.event)).toEqual(['mark']);
  });

  it('sends DTMF, then hangs up with stop before closing 1000', async () => {
    const { caller, conn } = await dial();
    caller.sendDtmf('5');
    expect(() => caller.sendDtmf('x')).toThrow(/invalid DTMF/);
    await until(() => events(conn, 'dtmf').length === 1);
    expect(events(conn, 'dtmf')[0]).toMatchObject({
      event: 'dtmf',
      streamSid: caller.streamSid,
      dtmf: { track: 'inbound_track', digit: '5' },
    });
    const info = await caller.hangUp();
    expect(info.code).toBe(1000);
    expect(await conn.closed).toBe(1000);
    const last = conn.msgs[conn.msgs.length - 1]?.msg;
    expect(last).toMatchObject({
      event: 'stop',
      streamSid: caller.streamSid,
      stop: { accountSid: caller.accountSid, callSid: caller.callSid },
    });
    // Sequence numbers stay gapless through media, dtmf and stop.
    const seqs = conn.msgs.slice(1).map((m) => Number(m.msg.sequenceNumber));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(caller.state).toBe('closed');
    expect(await caller.say(silence(100))).toBe(false);
  });

  it('drop closes without stop; a relay hang-up ends pending speech', async () => {
    const a = await dial();
    await a.caller.drop();
    expect(await a.conn.closed).toBe(1006);
    expect(events(a.conn, 'stop')).toHaveLength(0);

    const b = await dial();
    const said = b.caller.say(silence(5000));
    b.conn.ws.close(1000, 'agent hung up');
    const info = await b.caller.waitForClose(2000);
    expect(info).toMatchObject({ code: 1000, reason: 'agent hung up' });
    expect(await said).toBe(false);
    await expect(b.caller.waitFor((c) => c.heardBytes > 0, 500)).rejects.toThrow(/closed/);
  });

  it('rejects when the relay refuses the handshake', async () => {
    const guarded = new WebSocketServer({ host: '127.0.0.1', port: 0, verifyClient: (_info, cb) => cb(false, 403) });
    await new Promise<void>((r) => guarded.once('listening', () => r()));
    const a = guarded.address();
    const port = a === null || typeof a === 'string' ? 0 : a.port;
    await expect(SimCaller.connect({ url: `ws://127.0.0.1:${port}/media-stream` })).rejects.toThrow(/403/);
    await new Promise<void>((r) => guarded.close(() => r()));
  });
});

describe('FrameClock', () => {
  it('drives all subscribers from one timer and stops when the last one leaves', async () => {
    const clock = new FrameClock({ periodMs: 10 });
    const a: number[] = [];
    const b: number[] = [];
    const offA = clock.subscribe((n) => a.push(n));
    const offB = clock.subscribe((n) => b.push(n));
    expect(clock.running).toBe(true);
    await sleep(120);
    offA();
    offA(); // idempotent
    expect(clock.running).toBe(true);
    offB();
    expect(clock.running).toBe(false);
    expect(clock.subscriberCount).toBe(0);
    expect(a.length).toBeGreaterThan(3);
    expect(b).toEqual(a); // same ticks, same numbers
    for (let i = 1; i < a.length; i++) expect(a[i] ?? 0).toBeGreaterThan(a[i - 1] ?? 0);
    if (clock.skippedTicks === 0) expect(a).toEqual(a.map((_, i) => i + 1)); // no tick lost
    const count = a.length;
    await sleep(40);
    expect(a.length).toBe(count);
  });
});
