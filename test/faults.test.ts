import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import net from 'node:net';
import { readFileSync, rmSync } from 'node:fs';
import { WebSocketServer } from 'ws';
import { loadConfig } from '../src/config.js';
import { loadEdgeConfig } from '../src/http/edge-config.js';
import { ModelConnection } from '../src/providers/realtime-connection.js';
import { openaiDialect } from '../src/providers/dialect.js';
import { FakeModelServer } from '../src/sim/model/model-server.js';
import { SimCaller } from '../src/sim/twilio/caller.js';
import { startHarness, sleep, until, type Harness, type HarnessOptions } from './support/relay-harness.js';
import { startRelayProcess } from './support/relay-process.js';
import { openStore } from '../src/store/open-store.js';

// Issue 7: faults on real sockets. The model drops at random points of a call, never answers, or
// stops reading; Twilio drops without `stop` or stops reading. What must hold: the caller hears an
// apology when the model is gone, every call leaves exactly one record with the right reason, and no
// slow peer makes the relay buffer without bound.

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2_147_483_647);
const TWILIO_UA = { 'User-Agent': 'TwilioProxy/1.1' };
const edge = loadEdgeConfig({}, loadConfig({ PORT: '0', PUBLIC_HOST: 'relay.test' }));
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function harness(opts: HarnessOptions = {}): Promise<Harness> {
  const h = await startHarness({ ...opts, overrides: { edge, ...opts.overrides } });
  cleanups.push(() => h.close());
  return h;
}

/** A TCP proxy whose relay-facing sockets can stop reading: a peer that is slow, not gone. */
class TcpProxy {
  readonly pairs: Array<{ down: net.Socket; up: net.Socket }> = [];
  target = 0;
  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}
  static async start(target = 0): Promise<TcpProxy> {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const p = new TcpProxy(server, (server.address() as net.AddressInfo).port);
    p.target = target;
    server.on('connection', (down) => {
      const up = net.connect(p.target, '127.0.0.1');
      down.pipe(up);
      up.pipe(down);
      for (const s of [down, up])
        s.on('error', () => {
          down.destroy();
          up.destroy();
        });
      p.pairs.push({ down, up });
    });
    cleanups.push(() => p.close());
    return p;
  }
  /** Stop reading from the side that dialled the proxy (`down`) or from the target (`up`). */
  pause(side: 'down' | 'up'): void {
    for (const pair of this.pairs) {
      pair[side].unpipe();
      pair[side].pause();
    }
  }
  resume(side: 'down' | 'up'): void {
    for (const pair of this.pairs) pair[side].pipe(side === 'down' ? pair.up : pair.down);
  }
  close(): Promise<void> {
    for (const { down, up } of this.pairs) {
      down.destroy();
      up.destroy();
    }
    return new Promise((r) => this.server.close(() => r()));
  }
}

if (process.platform !== 'linux') console.log('faults: SKIPPED the slow-Twilio RSS test: it reads /proc (Linux only)');
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m?.[1] ? Number(m[1]) / 1024 : Number.NaN;
}

const heardApology = (before: number) => (c: SimCaller) => c.heardBytes - before > 8 * 2000;

// One concurrent suite: the cases mostly wait on timers and sockets, so together they take as long as the longest.
describe.concurrent('faults on real sockets', () => {
  it('drops at random points (greeting, mid-answer, tool): a new session, no apology, one record', async () => {
    const h = await harness({
      // Calls wait in listening for seconds here; a silence re-prompt would be a response the test did not plan.
      env: { SILENCE_REPROMPT_SECONDS: '120' },
      overrides: {
        runTool: async (call) => {
          await sleep(1500);
          return { callId: call.callId, ok: true, output: '{"found":false}' };
        },
      },
    });
    type Phase = 'greeting' | 'speaking' | 'tool' | 'listening';
    const points = fc.sample(
      fc.record({
        phase: fc.constantFrom<Phase>('greeting', 'speaking', 'tool', 'listening'),
        delayMs: fc.integer({ min: 0, max: 300 }),
        abrupt: fc.boolean(),
      }),
      { numRuns: 8, seed: SEED },
    );
    // Every call is dialled before any model socket drops: a replacement session opened while a later
    // call is still being dialled would be taken for that call's session by the harness.
    const dialled = [];
    for (const _ of points) dialled.push(await h.call({ headers: TWILIO_UA }));
    const runs = [];
    for (const [i, p] of points.entries()) {
      const call = dialled[i];
      if (!call) throw new Error('call not dialled');
      const { caller, model } = call;
      const state = () => h.states.get(caller.callSid)?.at(-1) ?? '';
      runs.push(
        (async () => {
          if (p.phase === 'greeting') await model.waitFor('response.create', undefined, 3000);
          else await until(() => state() === 'session.listening', 8000, 'listening');
          if (p.phase === 'speaking')
            void model.respond({ text: 'A long answer.', audioMs: 3000 }).catch(() => undefined);
          if (p.phase === 'tool') {
            void model
              .respond({
                text: 'Let me check.',
                audioMs: 200,
                functionCalls: [{ name: 'lookupCustomer', arguments: '{}' }],
              })
              .catch(() => undefined);
            await until(() => state().startsWith('session.toolPending'), 6000, 'tool pending');
          }
          await sleep(p.delayMs);
          const at = state();
          if (p.abrupt) model.drop();
          else model.drop(1011, 'internal error');
          // The socket is replaced (src/providers/reconnecting-connection.ts); the call goes on.
          const reconnected = () =>
            h.sessions
              .get(caller.callSid)
              ?.timeline.entries()
              .some((e) => e.kind === 'reconnect') ?? false;
          await until(reconnected, 8000, `reconnect after a drop in ${at}`);
          await until(() => state() === 'session.listening', 8000, `listening again after a drop in ${at}`);
          await caller.hangUp();
          const rec = await h.recorder.waitFor(caller.callSid, 3000);
          expect(rec.endReason, `dropped in ${at}`).toBe('caller_hung_up');
          expect(
            rec.timeline.find((e) => e.kind === 'reconnect'),
            `dropped in ${at}`,
          ).toMatchObject({ ok: true });
          expect(h.states.get(caller.callSid), `dropped in ${at}`).not.toContain('apologizing');
          return at;
        })(),
      );
    }
    const at = await Promise.all(runs);
    await sleep(1600); // a tool finishing after the call ended must not produce a second record
    for (const c of h.recorder.records)
      expect(h.recorder.records.filter((r) => r.callSid === c.callSid)).toHaveLength(1);
    expect(h.recorder.records).toHaveLength(points.length);
    console.log(`faults: model dropped in ${JSON.stringify(at)}`);
  }, 40_000);

  it('drops while the session is still being set up: apology and model_dropped', async () => {
    const h = await harness({ model: { onSession: (s) => s.drop() } });
    const caller = await SimCaller.connect({
      url: h.url,
      headers: TWILIO_UA,
      customParameters: { merchantId: 'demo' },
    });
    await caller.waitFor(heardApology(0), 5000, 'apology');
    const rec = await h.recorder.waitFor(caller.callSid, 6000);
    expect(rec.endReason).toBe('model_dropped');
    expect(h.states.get(caller.callSid)).toEqual(['apologizing', 'teardown']);
  }, 20_000);

  it('refuses the upgrade (wrong API key, HTTP 401): apology and a record, no retry storm', async () => {
    const h = await harness({ model: { apiKey: 'sk-the-right-one' } });
    const caller = await SimCaller.connect({
      url: h.url,
      headers: TWILIO_UA,
      customParameters: { merchantId: 'demo' },
    });
    await caller.waitFor(heardApology(0), 5000, 'apology');
    const rec = await h.recorder.waitFor(caller.callSid, 6000);
    expect(rec.endReason).toBe('model_dropped');
    expect(h.model.rejectedUpgrades).toBe(1);
  }, 20_000);

  it('completes the handshake and never says a word: the connect timeout apologises and ends the call', async () => {
    const mute = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    cleanups.push(
      () =>
        new Promise((r) => {
          for (const c of mute.clients) c.terminate();
          mute.close(() => r(undefined));
        }),
    );
    await new Promise((r) => mute.once('listening', r));
    const port = (mute.address() as net.AddressInfo).port;
    const h = await harness({
      env: { OPENAI_REALTIME_URL: `ws://127.0.0.1:${port}/v1/realtime`, MODEL_CONNECT_TIMEOUT_MS: '400' },
    });
    const caller = await SimCaller.connect({
      url: h.url,
      headers: TWILIO_UA,
      customParameters: { merchantId: 'demo' },
    });
    await caller.waitFor(heardApology(0), 5000, 'apology');
    const rec = await h.recorder.waitFor(caller.callSid, 6000);
    expect(rec.endReason).toBe('model_connect_timeout');
    expect(mute.clients.size).toBe(0); // the relay closed the model socket it gave up on
  }, 20_000);

  // Was bug 4: a model that accepts the session but never answers (response.create unanswered, or
  // response.created and then nothing) left the caller in silence until MAX_CALL_SECONDS. The chart's
  // response watchdog now apologises after MODEL_RESPONSE_TIMEOUT_MS and ends the call `model_stalled`.
  it('notices a greeting that never comes (a stalled model): apology within the response timeout, one ' +
    'model_stalled record', async () => {
    const h = await harness({
      env: { MODEL_RESPONSE_TIMEOUT_MS: '1500' },
      model: { onSession: (s) => s.onResponseCreate(() => false) },
    });
    const caller = await SimCaller.connect({
      url: h.url,
      headers: TWILIO_UA,
      customParameters: { merchantId: 'demo' },
    });
    const t0 = Date.now();
    await caller.waitFor(heardApology(0), 6000, 'the apology');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    const rec = await h.recorder.waitFor(caller.callSid, 8000);
    expect(rec.endReason).toBe('model_stalled');
    await caller.waitForClose(6000);
  }, 20_000);

  it('notices a response that starts and then never speaks, mid-call', async () => {
    const h = await harness({ env: { MODEL_RESPONSE_TIMEOUT_MS: '1500' } });
    const { caller, model } = await h.call({ headers: TWILIO_UA });
    await until(() => h.states.get(caller.callSid)?.at(-1) === 'session.listening', 8000, 'listening');
    const heard = caller.heardBytes;
    void model.respond({ stall: true });
    await caller.waitFor(heardApology(heard), 6000, 'the apology');
    const rec = await h.recorder.waitFor(caller.callSid, 8000);
    expect(rec.endReason).toBe('model_stalled');
  }, 20_000);

  it('stops reading (a stalled model): ModelConnection.bufferedAmount stays bounded, the overflow is ' +
    'counted as dropped audio', async () => {
    const model = await FakeModelServer.start({ dialect: 'openai', mode: 'scripted', recordAudioBytes: 0 });
    cleanups.push(() => model.close());
    const proxy = await TcpProxy.start(model.port);
    const conn = new ModelConnection({
      dialect: openaiDialect,
      baseUrl: `ws://127.0.0.1:${proxy.port}/v1/realtime`,
      model: 'gpt-realtime',
      apiKey: 'sk-test',
      session: { instructions: 'x', voice: 'marin', tools: [], transcription: null },
    });
    cleanups.push(() => conn.close());
    conn.attach({ onAudio: () => undefined, onEvent: () => undefined, onClose: () => undefined });
    await until(() => conn.ready, 5000, 'session ready');
    proxy.pause('down');
    // 12 MB of caller audio in 48 KiB frames: far beyond what kernel buffers absorb on loopback.
    const frame = Buffer.alloc(36 * 1024, 0xff).toString('base64');
    let maxBuffered = 0;
    for (let i = 0; i < 256; i++) {
      conn.appendAudio(frame);
      maxBuffered = Math.max(maxBuffered, conn.bufferedAmount);
      if (i % 16 === 15) await sleep(5);
    }
    console.log(
      `faults: stalled model: max bufferedAmount ${maxBuffered} bytes, dropped ${conn.droppedAudioBytes} ` +
        `bytes of caller audio`,
    );
    expect(maxBuffered).toBeLessThanOrEqual(256 * 1024);
    expect(conn.droppedAudioBytes).toBeGreaterThan(0);
    proxy.resume('down');
    // The connection is still usable once the model reads again.
    await until(() => conn.bufferedAmount === 0, 5000, 'socket drained');
    expect(conn.isOpen).toBe(true);
  }, 20_000);

  it('goes silent both ways (a half-open model socket): the unanswered ping ends it, a live one is kept', async () => {
    const model = await FakeModelServer.start({ dialect: 'openai', mode: 'scripted', recordAudioBytes: 0 });
    cleanups.push(() => model.close());
    const proxy = await TcpProxy.start(model.port);
    let closed: { code: number; reason: string } | undefined;
    const conn = new ModelConnection({
      dialect: openaiDialect,
      baseUrl: `ws://127.0.0.1:${proxy.port}/v1/realtime`,
      model: 'gpt-realtime',
      apiKey: 'sk-test',
      pingIntervalMs: 100,
      session: { instructions: 'x', voice: 'marin', tools: [], transcription: null },
    });
    cleanups.push(() => conn.close());
    conn.attach({
      onAudio: () => undefined,
      onEvent: () => undefined,
      onClose: (code, reason) => (closed = { code, reason }),
    });
    await until(() => conn.ready, 5000, 'session ready');
    await sleep(600); // six pings answered: a healthy socket is kept
    expect(closed).toBeUndefined();
    proxy.pause('down');
    proxy.pause('up');
    const t0 = Date.now();
    await until(() => closed !== undefined, 2000, 'the half-open socket to be given up');
    console.log(`faults: half-open model socket given up after ${Date.now() - t0} ms (ping every 100 ms)`);
    expect(closed?.reason).toMatch(/no pong/);
    expect(Date.now() - t0).toBeLessThan(400);
  }, 20_000);

  it('stops reading mid-call: the call goes on once it reads again, and the record says how much caller ' +
    'audio was dropped', async () => {
    const proxy = await TcpProxy.start();
    const h = await harness({
      env: { OPENAI_REALTIME_URL: `ws://127.0.0.1:${proxy.port}/v1/realtime` },
      model: { recordAudioBytes: 0 },
    });
    proxy.target = h.model.port;
    const { caller, model } = await h.call({ headers: TWILIO_UA });
    await until(() => h.states.get(caller.callSid)?.at(-1) === 'session.listening', 8000, 'listening');
    proxy.pause('down');
    // A flood of caller audio (Twilio frames can carry more than 20 ms): 12 MB while the model is stalled.
    const big = JSON.stringify({
      event: 'media',
      streamSid: caller.streamSid,
      sequenceNumber: '5',
      media: {
        track: 'inbound',
        chunk: '5',
        timestamp: '100',
        payload: Buffer.alloc(36 * 1024, 0xff).toString('base64'),
      },
    });
    for (let i = 0; i < 256; i++) {
      caller.sendRaw(big);
      if (i % 16 === 15) await sleep(5);
    }
    await sleep(300);
    proxy.resume('down');
    const heard = caller.heardBytes;
    await until(() => model.activeResponseId === undefined, 3000, 'model idle');
    await model.respond({ text: 'Back again.', audioMs: 400 });
    await caller.waitFor((c) => c.heardBytes >= heard + 8 * 400, 8000, 'the answer after the stall');
    await caller.hangUp();
    const rec = await h.recorder.waitFor(caller.callSid, 3000);
    expect(rec.endReason).toBe('caller_hung_up');
    console.log(`faults: stalled model mid-call: ${rec.stats.droppedCallerAudioMs} ms of caller audio dropped`);
    expect(rec.stats.droppedCallerAudioMs).toBeGreaterThan(0);
  }, 30_000);

  it('drops without stop at random points (connecting, greeting, speaking, tool, apology): one record each, ' +
    'the first cause wins', async () => {
    const h = await harness({
      overrides: {
        runTool: async (call) => {
          await sleep(1000);
          return { callId: call.callId, ok: true, output: '{}' };
        },
      },
    });
    type Phase = 'greeting' | 'speaking' | 'tool' | 'listening' | 'apology';
    const points = fc.sample(
      fc.record({
        phase: fc.constantFrom<Phase>('greeting', 'speaking', 'tool', 'listening', 'apology'),
        delayMs: fc.integer({ min: 0, max: 200 }),
      }),
      { numRuns: 8, seed: SEED + 1 },
    );
    // Every call is dialled before any model socket drops: a replacement session opened while a later
    // call is still being dialled would be taken for that call's session by the harness.
    const dialled = [];
    for (const _ of points) dialled.push(await h.call({ headers: TWILIO_UA }));
    const runs = [];
    for (const [i, p] of points.entries()) {
      const call = dialled[i];
      if (!call) throw new Error('call not dialled');
      const { caller, model } = call;
      const state = () => h.states.get(caller.callSid)?.at(-1) ?? '';
      runs.push(
        (async () => {
          if (p.phase !== 'greeting') await until(() => state() === 'session.listening', 8000, 'listening');
          if (p.phase === 'speaking') void model.respond({ text: 'Talking.', audioMs: 2000 }).catch(() => undefined);
          if (p.phase === 'tool')
            void model
              .respond({
                text: 'Checking.',
                audioMs: 100,
                functionCalls: [{ name: 'lookupCustomer', arguments: '{}' }],
              })
              .catch(() => undefined);
          if (p.phase === 'apology') model.drop();
          await sleep(p.delayMs);
          const at = state();
          await caller.drop();
          const rec = await h.recorder.waitFor(caller.callSid, 5000);
          expect(rec.endReason, `dropped in ${at}`).toBe(
            p.phase === 'apology' && at === 'apologizing' ? 'model_dropped' : 'twilio_closed',
          );
          await until(() => !model.isOpen, 3000, 'model socket closed');
          return at;
        })(),
      );
    }
    // And one that drops while the model is still connecting (TCP accepted, no WebSocket handshake yet).
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(() => {
      silent.close();
    });
    const h2 = await harness({
      env: { OPENAI_REALTIME_URL: `ws://127.0.0.1:${(silent.address() as net.AddressInfo).port}/v1/realtime` },
    });
    const early = await SimCaller.connect({
      url: h2.url,
      headers: TWILIO_UA,
      customParameters: { merchantId: 'demo' },
    });
    await sleep(100);
    await early.drop();
    expect((await h2.recorder.waitFor(early.callSid, 3000)).endReason).toBe('twilio_closed');
    const at = await Promise.all(runs);
    await sleep(1100);
    expect(h.recorder.records).toHaveLength(points.length);
    expect(h.relay.server.calls.size).toBe(0);
    console.log(`faults: Twilio dropped in ${JSON.stringify(at)}`);
  }, 40_000);

  // Was bug 8: uWS refused sends past maxBackpressure and the relay ignored it (audio and marks lost
  // uncounted, the chart left waiting for an end mark). Now the refused send closes that stream.
  it.runIf(process.platform === 'linux')(
    'closes a stream Twilio stopped reading once its backlog is full (logged, counted, recorded); RSS stays ' +
      'flat and the other call goes on (relay as a real process)',
    async () => {
      const model = await FakeModelServer.start({ dialect: 'openai', mode: 'scripted', recordAudioBytes: 0 });
      cleanups.push(() => model.close());
      // DATABASE_URL/REDIS_URL cleared: the process must not touch the machine's shared services.
      const relay = await startRelayProcess({
        PROVIDER: 'openai',
        OPENAI_API_KEY: 'sk-test',
        OPENAI_REALTIME_URL: model.url,
        DATABASE_URL: '',
        REDIS_URL: '',
        METRICS_TOKEN: 'metrics-test',
      });
      cleanups.push(async () => {
        if (relay.child.exitCode === null) relay.kill('SIGKILL');
        await relay.exited;
        rmSync(relay.dataDir, { recursive: true, force: true });
      });
      const pid = relay.child.pid ?? 0;
      const url = `ws://127.0.0.1:${relay.port}/media-stream`;
      const params = { merchantId: 'demo', callerPhone: '+14155550100' };
      const healthy = await SimCaller.connect({ url, headers: TWILIO_UA, customParameters: params, record: false });
      const healthyModel = await model.nextSession(5000);
      const proxy = await TcpProxy.start(relay.port);
      const slow = await SimCaller.connect({
        url: `ws://127.0.0.1:${proxy.port}/media-stream`,
        headers: TWILIO_UA,
        customParameters: params,
        record: false,
      });
      const slowModel = await model.nextSession(5000);
      await healthyModel.waitFor('response.create', undefined, 5000);
      await slowModel.waitFor('response.create', undefined, 5000);
      await sleep(3000); // greetings played, both calls listening
      const baseline = rssMb(pid);
      void healthyModel.respond({ continuous: true, audioMs: 30_000 }).catch(() => undefined);
      proxy.pause('up'); // the slow caller's side stops reading what the relay sends
      const flood = Buffer.alloc(30 * 1024 * 1024, 0xd5); // ~1 hour of audio, 40 MB as base64
      const flooded = slowModel.respond({ audio: flood, chunkMs: 1000, realtimeFactor: Number.POSITIVE_INFINITY });
      const heardAtFlood = healthy.mediaMessagesReceived;
      let peak = baseline;
      for (let i = 0; i < 30; i++) {
        await sleep(200);
        peak = Math.max(peak, rssMb(pid));
      }
      await flooded.catch(() => undefined); // cut short: the relay hung up on that model socket
      const healthyFrames = healthy.mediaMessagesReceived - heardAtFlood;
      const stalled = relay.lines.find((l) => String(l.msg).startsWith('Twilio is not reading'));
      console.log(
        `faults: slow Twilio reader: relay RSS baseline ${baseline.toFixed(0)} MB, peak ${peak.toFixed(0)} ` +
          `MB during a 40 MB flood; stream closed with ${String(stalled?.bufferedBytes)} bytes unread; ` +
          `healthy call got ${healthyFrames} frames in 6 s`,
      );
      expect(stalled).toMatchObject({ callSid: slow.callSid });
      expect(Number(stalled?.bufferedBytes)).toBeGreaterThan(512 * 1024);
      expect(peak - baseline).toBeLessThan(60);
      expect(healthyFrames).toBeGreaterThan(200); // 6 s at 50 frames/s = 300; allow a busy box
      await until(() => slowModel.isOpen === false, 3000, 'the stalled call to release its model socket');
      proxy.resume('up');
      expect(healthy.state).toBe('open');
      await healthy.hangUp();
      await until(() => relay.lines.filter((l) => l.msg === 'call record').length === 2, 5000, 'both records');
      const metrics = await fetch(`http://127.0.0.1:${relay.port}/metrics`, {
        headers: { Authorization: 'Bearer metrics-test' },
      }).then((r) => r.text());
      expect(metrics).toMatch(/^callrelay_twilio_stalled_total 1$/m);
      relay.kill('SIGTERM');
      expect(await relay.exited).toBe(0);
      const store = await openStore({ dataDir: relay.dataDir });
      try {
        const rec = await store.getCallRecord(slow.callSid);
        expect(rec?.endReason).toBe('twilio_closed');
        expect(rec?.stats.twilioSendRefused).toBe(1);
        expect((await store.getCallRecord(healthy.callSid))?.stats.twilioSendRefused).toBe(0);
      } finally {
        await store.close();
      }
    },
    60_000,
  );
});
