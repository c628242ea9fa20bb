import net from 'node:net';
import OpenAI from 'openai';
import { OpenAIRealtimeWebSocket } from 'openai/realtime/websocket';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { browserEndpointResolver } from '../src/browser/browser-endpoint.js';
import {
  OPENAI_KEY,
  ORIGIN,
  SESSION_CREATED,
  XAI_KEY,
  attempt,
  freshIp,
  startRelay,
  startWorld,
  token,
  waitFor,
  type AttemptOptions,
  type Client,
  FakeModel,
  type Frame,
  type Running,
  type World,
} from './browser-relay-fixtures.js';

// The bridge: frames both ways unchanged, the pre-open queue, close codes, providers, the openai SDK
// clients, the session time limit. Access control and the HTTP surface: browser-relay-access.test.ts.

let world: World;
let model: FakeModel;
let main: Running;

beforeAll(async () => {
  world = await startWorld();
  ({ model, main } = world);
});
afterEach(() => world.afterEach());
afterAll(() => world.stop());

const open = (port: number, path: string, opts?: AttemptOptions): Promise<Client> => world.open(port, path, opts);

describe('browser relay: bridging', () => {
  it(
    'relays frames up and down byte for byte, text as text and binary as binary, adding the API key ' + 'upstream only',
    async () => {
      const before = model.conns.length;
      const c = await open(main.port, `/token/${token()}`, {
        protocols: ['realtime', 'openai-insecure-api-key.sk-browser-should-not-travel'],
        headers: { Authorization: 'Bearer client-supplied-junk' },
      });
      expect(c.ws.protocol).toBe('realtime');
      await waitFor(() => model.conns.length === before + 1, 'model connection');
      const m = model.conns[before]!;
      expect(m.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
      expect(m.headers['sec-websocket-protocol']).toBeUndefined();
      expect(m.url).toBe('/v1/realtime?model=gpt-realtime-2.1'); // OPENAI_REALTIME_MODEL's default

      await waitFor(() => c.received.length >= 1, 'session.created downstream');
      expect(c.received[0]).toEqual({ data: Buffer.from(SESSION_CREATED), isBinary: false });

      // Odd spacing and key order survive: the relay does not parse or re-serialise.
      const text = '{ "type" :"input_audio_buffer.append",   "audio":"AAEC/w==" , "event_id":"e1"}';
      const bin = Buffer.from([0, 1, 2, 255, 254]);
      c.ws.send(text);
      c.ws.send(bin);
      await waitFor(() => m.received.length === 2, 'frames upstream');
      expect(m.received[0]).toEqual({ data: Buffer.from(text), isBinary: false });
      expect(m.received[1]).toEqual({ data: bin, isBinary: true });

      m.socket.send(Buffer.from([9, 8, 7]), { binary: true });
      m.socket.send('{"type":"response.output_audio.delta","delta":"AAAA"}');
      await waitFor(() => c.received.length === 3, 'frames downstream');
      expect(c.received[1]).toEqual({ data: Buffer.from([9, 8, 7]), isBinary: true });
      expect(c.received[2]).toEqual({
        data: Buffer.from('{"type":"response.output_audio.delta","delta":"AAAA"}'),
        isBinary: false,
      });

      // Nothing the browser saw carries the key.
      const seen = JSON.stringify(c.upgradeHeaders) + c.received.map((f) => f.data.toString('latin1')).join('');
      expect(seen).not.toContain(OPENAI_KEY);
      expect(seen).not.toContain('SECRET');
    },
  );

  it(
    'queues what the browser sends before the model socket is open and delivers it in order, without ' +
      'bouncing it back',
    async () => {
      model.hold = true;
      const attemptsBefore = model.attempts;
      const before = model.conns.length;
      const c = await open(main.port, `/auth/${token()}`);
      await waitFor(() => model.attempts === attemptsBefore + 1, 'model handshake started');
      const sent: Frame[] = [];
      for (let i = 0; i < 40; i++) {
        const f: Frame =
          i % 10 === 9
            ? { data: Buffer.from([i, 0xff, i]), isBinary: true }
            : { data: Buffer.from(`{"type":"input_audio_buffer.append","seq":${i}}`), isBinary: false };
        sent.push(f);
        c.ws.send(f.data, { binary: f.isBinary });
      }
      await new Promise((r) => setTimeout(r, 150)); // let every frame reach the relay while the model is held
      expect(model.conns.length).toBe(before);
      model.release();
      await waitFor(() => (model.conns[before]?.received.length ?? 0) === 40, 'queued frames at the model');
      expect(model.conns[before]!.received).toEqual(sent);
      await waitFor(() => c.received.length >= 1, 'session.created');
      await new Promise((r) => setTimeout(r, 50));
      expect(c.received.map((f) => f.data.toString())).toEqual([SESSION_CREATED]);
    },
  );

  it('closes with 1009 when more than 256 messages wait for the model, and abandons the model socket', async () => {
    model.hold = true;
    const before = model.conns.length;
    const c = await open(main.port, `/token/${token()}`);
    for (let i = 0; i < 257; i++) c.ws.send(`{"type":"input_audio_buffer.append","seq":${i}}`);
    const closed = await c.closed;
    expect(closed.code).toBe(1009);
    expect(closed.reason).toMatch(/before the model connected/);
    model.release();
    await new Promise((r) => setTimeout(r, 100));
    expect(model.conns.length).toBe(before);
  });

  it('closes with 1009 when more than 4 MiB wait for the model', async () => {
    model.hold = true;
    const c = await open(main.port, `/token/${token()}`);
    for (let i = 0; i < 5; i++) c.ws.send(Buffer.alloc(1024 * 1024, i), { binary: true });
    expect((await c.closed).code).toBe(1009);
  });

  it('passes a deliberate model close code and reason to the browser', async () => {
    const before = model.conns.length;
    const c = await open(main.port, `/token/${token()}`);
    await waitFor(() => model.conns.length === before + 1, 'model connection');
    model.conns[before]!.socket.close(4001, 'model says bye');
    expect(await c.closed).toEqual({ code: 4001, reason: 'model says bye' });
  });

  it('maps an abnormal model drop to 1011', async () => {
    const before = model.conns.length;
    const c = await open(main.port, `/token/${token()}`);
    await waitFor(() => model.conns.length === before + 1, 'model connection');
    model.conns[before]!.socket.terminate();
    expect(await c.closed).toEqual({ code: 1011, reason: 'model connection lost' });
  });

  it('closes the browser with 1011 when the model cannot be reached', async () => {
    const c = await open(main.port, `/token/${token()}?provider=dead`);
    expect(await c.closed).toEqual({ code: 1011, reason: 'could not connect to the model' });
  });

  it('closes the model socket when the browser leaves, with the browser code', async () => {
    const before = model.conns.length;
    const c = await open(main.port, `/token/${token()}`);
    await waitFor(() => model.conns.length === before + 1, 'model connection');
    c.ws.close(4002, 'tab closed');
    expect((await model.conns[before]!.closed).code).toBe(4002);
    const c2 = await open(main.port, `/token/${token()}`);
    await waitFor(() => model.conns.length === before + 2, 'second model connection');
    c2.ws.terminate(); // no close frame: the model still gets a clean 1000
    expect((await model.conns[before + 1]!.closed).code).toBe(1000);
  });

  it('uses ?provider=xai when that key is configured, and refuses an unknown provider with 400', async () => {
    const before = world.xaiModel.conns.length;
    await open(main.port, `/token/${token()}?provider=xai`);
    await waitFor(() => world.xaiModel.conns.length === before + 1, 'xai connection');
    expect(world.xaiModel.conns[before]!.headers.authorization).toBe(`Bearer ${XAI_KEY}`);
    expect(world.xaiModel.conns[before]!.url).toBe('/v1/realtime?model=grok-voice-latest');
    const a = await attempt(main.port, `/token/${token()}?provider=gemini`);
    expect(a.kind === 'refused' && a.status).toBe(400);
  });
});

describe('browser relay: an existing OpenAI Realtime client works unchanged', () => {
  it('openai OpenAIRealtimeWS (Node) with baseURL = relay URL + token', async () => {
    const before = model.conns.length;
    const client = new OpenAI({
      apiKey: 'sk-placeholder-the-relay-ignores',
      baseURL: `http://127.0.0.1:${main.port}/token/${token()}`,
    });
    // The SDK always dials wss://; a TLS-terminating proxy sits in front of the relay in production.
    const rt = new OpenAIRealtimeWS(
      {
        model: 'gpt-realtime',
        options: {
          origin: ORIGIN,
          headers: { 'X-Forwarded-For': freshIp() },
          createConnection: () => net.connect(main.port, '127.0.0.1'),
        },
      },
      client,
    );
    world.track(rt.socket);
    const errors: string[] = [];
    rt.on('error', (e) => errors.push(e.message));
    const created = new Promise<string>((resolve) => rt.on('session.created', (e) => resolve(e.session.type ?? '')));
    const updated = new Promise<string | null | undefined>((resolve) =>
      rt.on('session.updated', (e) => resolve(e.session.type === 'realtime' ? e.session.instructions : 'wrong type')),
    );
    await new Promise<void>((resolve) => rt.socket.once('open', () => resolve()));
    rt.send({ type: 'session.update', session: { type: 'realtime', instructions: 'You are a florist.' } });
    expect(await created).toBe('realtime');
    expect(await updated).toBe('You are a florist.');
    const m = model.conns[before]!;
    expect(m.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(JSON.parse(m.received[0]!.data.toString())).toEqual({
      type: 'session.update',
      session: { type: 'realtime', instructions: 'You are a florist.' },
    });
    expect(errors).toEqual([]);
    rt.close();
  });

  it(
    "openai OpenAIRealtimeWebSocket (the browser client, over a WebSocket global) with the relay's ?auth= " + 'URL',
    async () => {
      const before = model.conns.length;
      const ip = freshIp();
      // Stand-in for the browser's WebSocket: same constructor shape; wss→ws for loopback.
      class BrowserLikeWebSocket extends WebSocket {
        constructor(url: string, protocols: string[]) {
          super(url.replace(/^wss:/, 'ws:'), protocols, { origin: ORIGIN, headers: { 'X-Forwarded-For': ip } });
          world.track(this);
        }
      }
      Reflect.set(globalThis, 'WebSocket', BrowserLikeWebSocket);
      try {
        const client = new OpenAI({
          apiKey: 'ek_placeholder',
          baseURL: `http://127.0.0.1:${main.port}/token/${token()}`,
          dangerouslyAllowBrowser: true,
        });
        const rt = new OpenAIRealtimeWebSocket({ model: 'gpt-realtime' }, client);
        const updated = new Promise<string | null | undefined>((resolve) =>
          rt.on('session.updated', (e) =>
            resolve(e.session.type === 'realtime' ? e.session.instructions : 'wrong type'),
          ),
        );
        await new Promise<void>((resolve) => rt.socket.addEventListener('open', () => resolve()));
        rt.send({ type: 'session.update', session: { type: 'realtime', instructions: 'Hello from the browser' } });
        expect(await updated).toBe('Hello from the browser');
        // The browser client offers `openai-insecure-api-key.<key>`; it must not reach the model.
        expect(model.conns[before]!.headers['sec-websocket-protocol']).toBeUndefined();
        expect(model.conns[before]!.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
        rt.close();
      } finally {
        Reflect.deleteProperty(globalThis, 'WebSocket');
      }
    },
  );
});

describe('browser relay: session time limit', () => {
  let short: Running;
  beforeAll(async () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      PROVIDER: 'openai',
      OPENAI_API_KEY: OPENAI_KEY,
      OPENAI_REALTIME_URL: model.url,
    });
    short = await startRelay({ maxSessionSeconds: 1 }, browserEndpointResolver(config));
  });
  afterAll(() => short.stop());

  it('closes politely with 1000 "session time limit reached", on both sides', async () => {
    const before = model.conns.length;
    const c = await open(short.port, `/token/${token()}`);
    await waitFor(() => model.conns.length === before + 1, 'model connection');
    const started = Date.now();
    expect(await c.closed).toEqual({ code: 1000, reason: 'session time limit reached' });
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await model.conns[before]!.closed).code).toBe(1000);
    expect(short.relay.sessionCount).toBe(0);
  });
});

describe('browser relay: a model socket that stops answering pings (half-open)', () => {
  it('ends the session with 1011 after one unanswered ping, and keeps a socket that answers', async () => {
    const deaf = await FakeModel.start({ autoPong: false });
    const relayTo = (m: FakeModel) =>
      startRelay(
        { limits: { pingIntervalMs: 100 } },
        browserEndpointResolver(
          loadConfig({ NODE_ENV: 'test', PROVIDER: 'openai', OPENAI_API_KEY: OPENAI_KEY, OPENAI_REALTIME_URL: m.url }),
        ),
      );
    const toDeaf = await relayTo(deaf);
    const toLive = await relayTo(model);
    try {
      const live = await open(toLive.port, `/token/${token()}`);
      const dead = await open(toDeaf.port, `/token/${token()}`);
      await waitFor(() => dead.received.length >= 1 && live.received.length >= 1, 'both sessions open');
      const started = Date.now();
      expect(await dead.closed).toEqual({ code: 1011, reason: 'model connection lost' });
      expect(Date.now() - started).toBeLessThan(1000);
      expect(live.ws.readyState).toBe(WebSocket.OPEN);
      expect(toLive.relay.sessionCount).toBe(1);
    } finally {
      toDeaf.stop();
      toLive.stop();
      await deaf.close();
    }
  });
});
