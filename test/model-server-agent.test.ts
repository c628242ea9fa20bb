import { afterEach, describe, expect, it } from 'vitest';
import { silence, speechDurationMs, speechForText, speechLike } from '../src/audio/speechlike.js';
import { DEFAULT_LINES } from '../src/sim/model/model-agent.js';
import { FakeModelServer, type FakeModelServerOptions } from '../src/sim/model/model-server.js';
import type { FakeModelSession } from '../src/sim/model/model-session.js';
import { TestClient, at, str } from './model-server-client.js';

const servers: FakeModelServer[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function setup(
  opts: Partial<FakeModelServerOptions> = {},
): Promise<{ client: TestClient; session: FakeModelSession }> {
  const server = await FakeModelServer.start({ dialect: 'openai', mode: 'agent', realtimeFactor: Infinity, ...opts });
  servers.push(server);
  const client = await TestClient.connect(server.url);
  clients.push(client);
  const session = await server.nextSession();
  client.send({
    type: 'session.update',
    session: {
      type: 'realtime',
      audio: {
        input: {
          format: { type: 'audio/pcmu' },
          transcription: { model: 'gpt-4o-transcribe' },
          turn_detection: { type: 'server_vad', silence_duration_ms: 300 },
        },
        output: { format: { type: 'audio/pcmu' } },
      },
      tools: [
        {
          type: 'function',
          name: 'lookup_booking',
          description: 'Find a booking',
          parameters: {
            type: 'object',
            properties: { code: { type: 'string' }, party: { type: 'integer' } },
            required: ['code', 'party'],
          },
        },
      ],
    },
  });
  await client.next('session.updated');
  return { client, session };
}

function transcriptOf(done: unknown): string {
  const t = at(done, 'response.output.0.content.0.transcript');
  return typeof t === 'string' ? t : '';
}

describe('FakeModelServer agent mode (demo agent / load model)', () => {
  it(
    'greets with the line quoted in the response.create instructions, labelled simulated, in speech-like ' +
      'pcmu of plausible length',
    async () => {
      const { client } = await setup();
      const greeting = 'Thanks for calling Acme Dental, how can I help? (simulated voice)';
      client.send({
        type: 'response.create',
        response: {
          instructions:
            'You are a receptionist.\n\nOpen the call by saying: "Thanks for calling Acme Dental, how can I help?"',
        },
      });
      const done = await client.next('response.done');
      expect(transcriptOf(done)).toBe(greeting);
      const audio = Buffer.concat(
        client.events
          .filter((e) => e.type === 'response.output_audio.delta')
          .map((e) => Buffer.from(str(e, 'delta'), 'base64')),
      );
      expect(audio.length).toBe(speechDurationMs(greeting) * 8);
      expect(audio.equals(speechForText(greeting))).toBe(true);
    },
  );

  it(
    'answers a caller turn with the next script line and a simulated transcript that may arrive after the ' +
      'response starts',
    async () => {
      const { client } = await setup({ agent: { transcriptDelayMs: 80 } });
      client.send({ type: 'response.create' });
      expect(transcriptOf(await client.next('response.done'))).toMatch(/simulated/);
      client.appendAudio(Buffer.concat([speechForText('hi I would like to book an appointment', 11), silence(400)]));
      const committed = await client.next('input_audio_buffer.committed');
      const done = await client.next('response.done');
      expect(transcriptOf(done)).toBe(DEFAULT_LINES[0]);
      const tr = await client.next('conversation.item.input_audio_transcription.completed');
      expect(tr.item_id).toBe(committed.item_id);
      expect(str(tr, 'transcript')).toMatch(/^\(simulated transcript: caller spoke for \d+\.\d s\)$/);
      const types = client.types();
      expect(types.indexOf('conversation.item.input_audio_transcription.completed')).toBeGreaterThan(
        types.lastIndexOf('response.created'),
      );
    },
  );

  it('says how long the caller spoke, not how long their line was open (silence before it is not speech)', async () => {
    const { client } = await setup();
    client.send({ type: 'response.create' });
    await client.next('response.done');
    // 8 s of a quiet line (the caller listening to the greeting), then 1.6 s of speech, then a pause.
    client.appendAudio(Buffer.concat([silence(8000), speechLike({ ms: 1600, seed: 3 }), silence(800)]));
    const tr = await client.next('conversation.item.input_audio_transcription.completed');
    const seconds = Number(/spoke for (\d+\.\d) s/.exec(str(tr, 'transcript'))?.[1]);
    // The VAD hears the syllables, not their soft edges: a little under 1.6 s. The whole buffer is 10.4 s.
    expect(seconds).toBeGreaterThanOrEqual(1.2);
    expect(seconds).toBeLessThanOrEqual(1.8);
  });

  it('calls a declared tool after key presses when toolCallOnDigits is on, then reports the result', async () => {
    const { client } = await setup({ agent: { toolCallOnDigits: true } });
    client.send({ type: 'response.create' });
    await client.next('response.done');
    client.send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'The caller pressed 42#' }] },
    });
    client.send({ type: 'response.create' });
    const done = await client.next('response.done');
    const output = at(done, 'response.output');
    const call = Array.isArray(output) ? output.find((o) => at(o, 'type') === 'function_call') : undefined;
    expect(call).toMatchObject({ name: 'lookup_booking' });
    expect(JSON.parse(str(call, 'arguments'))).toEqual({ code: '42#', party: 1 });
    client.send({
      type: 'conversation.item.create',
      item: { type: 'function_call_output', call_id: str(call, 'call_id'), output: '{"ok":true}' },
    });
    client.send({ type: 'response.create' });
    expect(transcriptOf(await client.next('response.done'))).toMatch(/checked that for you/);
  });

  it('continuous mode streams 20 ms frames on the frame clock through the per-frame hooks', async () => {
    let appended = 0;
    let stamp = 0;
    const { client, session } = await setup({
      agent: { streamMs: 400 },
      onAudioAppended: (bytes) => {
        appended += bytes.length;
      },
      beforeSendDelta: (bytes) => {
        bytes.writeUInt32BE(stamp++, 0);
      },
    });
    client.send({ type: 'response.create' });
    client.appendAudio(speechForText('talking over the stream', 2));
    const done = await client.next('response.done', undefined, 3000);
    expect(at(done, 'response.status')).toBe('completed'); // caller speech does not interrupt a load stream
    const frames = client.events
      .filter((e) => e.type === 'response.output_audio.delta')
      .map((e) => Buffer.from(str(e, 'delta'), 'base64'));
    expect(frames).toHaveLength(20);
    expect(frames.every((f) => f.length === 160)).toBe(true);
    expect(frames.map((f) => f.readUInt32BE(0))).toEqual([...Array(20).keys()]);
    await session.waitForAppendedMs(speechDurationMs('talking over the stream'));
    expect(appended).toBe(session.appendedBytes);
    expect(session.appendedAudio().length).toBe(0); // agent mode keeps no raw audio by default
  });
});
