import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { assign, createActor, fromPromise, setup, type InspectionEvent, type Observer } from 'xstate';
import { createCallInspector, parseInspectEnv, scrubForInspection, type CallInspector } from '../src/obs/inspect.js';
import { startInspectRelay, type InspectRelay } from '../scripts/inspect-server.js';
import { ConfigError } from '../src/config.js';

// A call-like actor with a phone number in its context, a transcript line in an event and a tool
// child whose input/output carry free text: what must never reach the inspector unmasked.
const PHONE = '+14155550123';
const SECRET = 'my card number is 4111 1111 1111 1111';

const machine = setup({
  types: {
    context: {} as { callerPhone: string; lines: number },
    events: {} as { type: 'transcript'; text: string } | { type: 'hangup' },
  },
  actors: {
    lookup: fromPromise(async ({ input }: { input: { arguments: string } }) => ({
      output: `found ${input.arguments}`,
    })),
  },
}).createMachine({
  id: 'call',
  context: { callerPhone: PHONE, lines: 0 },
  initial: 'talking',
  states: {
    talking: {
      invoke: { src: 'lookup', input: { arguments: SECRET } },
      on: {
        transcript: { actions: assign({ lines: ({ context }) => context.lines + 1 }) },
        hangup: 'done',
      },
    },
    done: { type: 'final' },
  },
});

function runCall(inspect: Observer<InspectionEvent> | undefined): void {
  const actor = createActor(machine, { id: 'call-CA1', inspect });
  actor.start();
  actor.send({ type: 'transcript', text: SECRET });
  actor.send({ type: 'hangup' });
}

const until = async (what: string, ok: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function inspector(env: Record<string, string>): Promise<CallInspector> {
  const pick = await createCallInspector(env);
  cleanups.push(() => pick.close());
  return pick;
}

function listen(): Promise<{ wss: WebSocketServer; port: number; messages: string[] }> {
  return new Promise((resolve) => {
    const messages: string[] = [];
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () => {
      const addr = wss.address();
      resolve({ wss, port: typeof addr === 'object' && addr !== null ? addr.port : 0, messages });
    });
    wss.on('connection', (ws) => ws.on('message', (d) => messages.push(d.toString())));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const c of wss.clients) c.terminate();
          wss.close(() => r());
        }),
    );
  });
}

describe('createCallInspector', () => {
  it('is off unless INSPECT is set: no observer for any call', async () => {
    const pick = await inspector({});
    expect(pick('CA1')).toBeUndefined();
    expect((await inspector({ INSPECT: '0' }))('CA1')).toBeUndefined();
  });

  it('refuses production, non-loopback URLs and unknown modes with a clear error', async () => {
    await expect(createCallInspector({ INSPECT: '1', NODE_ENV: 'production' })).rejects.toThrow(
      /INSPECT: is not allowed in production/,
    );
    await expect(createCallInspector({ INSPECT: 'jsonl:/tmp/x', NODE_ENV: 'production' })).rejects.toBeInstanceOf(
      ConfigError,
    );
    await expect(createCallInspector({ INSPECT: '1', INSPECT_URL: 'ws://10.1.2.3:8089' })).rejects.toThrow(
      /INSPECT_URL: must be on loopback/,
    );
    await expect(createCallInspector({ INSPECT: '1', INSPECT_URL: 'wss://inspect.example.com' })).rejects.toThrow(
      /loopback/,
    );
    await expect(createCallInspector({ INSPECT: '1', INSPECT_URL: 'http://127.0.0.1:8089' })).rejects.toThrow(
      /ws:\/\//,
    );
    await expect(createCallInspector({ INSPECT: 'yes please' })).rejects.toThrow(/unknown value/);
    expect(parseInspectEnv({ INSPECT: '1', INSPECT_URL: 'ws://[::1]:9000' }).mode).toEqual({
      kind: 'ws',
      url: 'ws://[::1]:9000',
    });
  });

  it('sends masked @xstate.actor / @xstate.snapshot messages to a loopback WebSocket', async () => {
    const { port, messages } = await listen();
    const pick = await inspector({ INSPECT: '1', INSPECT_URL: `ws://127.0.0.1:${port}`, INSPECT_CALLS: 'CA1,CA2' });
    expect(pick('CA-not-listed')).toBeUndefined();
    runCall(pick('CA1'));
    const types = () => messages.map((m) => (JSON.parse(m) as { type: string }).type);
    await until('actor, event and snapshot messages', () =>
      ['@xstate.actor', '@xstate.event', '@xstate.snapshot'].every((t) => types().includes(t)),
    );
    const all = messages.join('\n');
    expect(all).not.toContain(PHONE);
    expect(all).not.toContain('4111');
    expect(all).toContain('+1415•••0123');
    expect(all).toContain(`[redacted: ${SECRET.length} chars]`);
    // The root registration carries the machine definition: what the Stately UI draws.
    const root = messages
      .map((m) => JSON.parse(m) as { type: string; name?: string; definition?: string })
      .find((m) => m.type === '@xstate.actor' && m.name === 'call-CA1');
    expect(root?.definition).toContain('"talking"');
  });

  it('writes one JSONL file per call in jsonl mode, scrubbed, ending with the final state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inspect-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const pick = await inspector({ INSPECT: `jsonl:${dir}` });
    runCall(pick('CA1'));
    await new Promise((r) => setTimeout(r, 50)); // the tool child settles
    await pick.close();
    expect(readdirSync(dir)).toEqual(['CA1.jsonl']);
    const text = readFileSync(join(dir, 'CA1.jsonl'), 'utf8');
    const lines = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; actor: string; snapshot?: { status: string; value?: unknown } });
    expect(lines.length).toBeGreaterThan(5);
    expect(new Set(lines.map((l) => l.type))).toEqual(
      new Set(['@xstate.actor', '@xstate.event', '@xstate.snapshot', '@xstate.microstep', '@xstate.action']),
    );
    expect(text).not.toContain(PHONE);
    expect(text).not.toContain('4111');
    const last = lines.filter((l) => l.type === '@xstate.snapshot' && l.actor === 'call-CA1').at(-1);
    expect(last?.snapshot).toMatchObject({ status: 'done', value: 'done' });
  });

  it('scrubs nested phone fields, E.164 numbers inside text and binary payloads', () => {
    const out = scrubForInspection({
      from: '(415) 555-0123',
      note: `call back on ${PHONE} please`,
      audio: Buffer.alloc(320),
      n: 3,
      tags: new Set(['live']),
    });
    expect(out).toMatchObject({ note: 'call back on +1415•••0123 please', audio: '[320 bytes]', n: 3, tags: ['live'] });
    expect(out.from).toMatch(/^\(415.*•.*0123$/);
    expect(out.from).not.toContain('555');
  });
});

describe('npm run inspect-server (loopback relay)', () => {
  let relay: InspectRelay;

  it('relays producer events to its own page and refuses other origins and hosts', async () => {
    relay = await startInspectRelay({ port: 0 });
    cleanups.push(() => relay.close());
    const origin = `http://127.0.0.1:${relay.port}`;

    const page = await fetch(relay.pageUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('https://stately.ai/inspect');
    // fetch() will not send a foreign Host header: a raw request plays the rebound DNS name.
    const rebound = await new Promise<number>((resolve, reject) => {
      request(
        { host: '127.0.0.1', port: relay.port, path: '/', headers: { Host: `evil.example:${relay.port}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      )
        .on('error', reject)
        .end();
    });
    expect(rebound).toBe(421);

    const foreign = new WebSocket(relay.wsUrl, { origin: 'https://evil.example' });
    const refused = await new Promise<number>((r) =>
      foreign.on('unexpected-response', (_req, res) => r(res.statusCode ?? 0)),
    );
    expect(refused).toBeGreaterThanOrEqual(400);
    // Terminating a socket whose handshake was refused emits an error; it is expected here.
    foreign.on('error', () => undefined);
    foreign.terminate();

    const viewer = new WebSocket(relay.wsUrl, { origin });
    const seen: string[] = [];
    viewer.on('message', (d) => seen.push(d.toString()));
    cleanups.push(() => viewer.terminate());
    await new Promise<void>((r) => viewer.on('open', () => r()));

    const pick = await inspector({ INSPECT: '1', INSPECT_URL: relay.wsUrl });
    runCall(pick('CA1'));
    await until('events at the viewer', () => seen.some((m) => m.includes('"@xstate.snapshot"')));
    expect(seen.join('\n')).not.toContain(PHONE);
    expect(relay.received).toBeGreaterThanOrEqual(seen.length);

    const offline = await (await fetch(`${relay.pageUrl}events.jsonl`)).text();
    expect(offline.trimEnd().split('\n').length).toBe(relay.received);
  });
});
