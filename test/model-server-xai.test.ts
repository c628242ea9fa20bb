import { afterEach, describe, expect, it } from 'vitest';
import { silence, speechForText } from '../src/audio/speechlike.js';
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
  const server = await FakeModelServer.start({ dialect: 'xai', ...opts });
  servers.push(server);
  const client = await TestClient.connect(server.url);
  clients.push(client);
  return { client, session: await server.nextSession() };
}

// The cookbook's Twilio session: voice and turn_detection at the top level, formats nested, no session.type.
const XAI_SESSION = {
  instructions: 'You are a receptionist.',
  voice: 'ara',
  turn_detection: { type: 'server_vad', silence_duration_ms: 300 },
  audio: { input: { format: { type: 'audio/pcmu' } }, output: { format: { type: 'audio/pcmu' } } },
};

describe('FakeModelServer (xAI Grok Voice dialect)', () => {
  it('announces conversation.created before session.created and accepts the xAI session shape', async () => {
    const { client, session } = await setup();
    await client.next('session.created');
    expect(client.types().slice(0, 2)).toEqual(['conversation.created', 'session.created']);
    expect(str(client.events[1], 'session.model')).toBe('grok-voice-latest');
    client.send({ type: 'session.update', session: XAI_SESSION });
    const updated = await client.next('session.updated');
    expect(str(updated, 'session.voice')).toBe('ara');
    expect(at(updated, 'session.turn_detection')).toMatchObject({ type: 'server_vad', silence_duration_ms: 300 });
    expect(str(updated, 'session.audio.output.format.type')).toBe('audio/pcmu');
    expect(session.view).toMatchObject({
      voice: 'ara',
      inputFormat: { type: 'audio/pcmu' },
      turnDetection: { silenceMs: 300 },
    });
    expect(session.errors).toEqual([]);
  });

  it('sends {"type":"ping"} keep-alives', async () => {
    const { client } = await setup({ pingIntervalMs: 40 });
    await client.next('ping', undefined, 1000);
    await client.next('ping', undefined, 1000);
    expect(client.raw.filter((r) => r === '{"type":"ping"}').length).toBeGreaterThanOrEqual(2);
  });

  it('counts audio appended before session.updated (in the wrong default format)', async () => {
    const { client, session } = await setup();
    await client.next('session.created');
    client.appendAudio(silence(60)); // 3 frames too early
    client.send({ type: 'session.update', session: XAI_SESSION });
    await client.next('session.updated');
    client.appendAudio(silence(100));
    // The early 480 bytes were taken as PCM16 at 24 kHz (the default): 10 ms instead of 60 ms.
    await session.waitForAppendedMs(110);
    expect(session.appendsBeforeSessionUpdated).toBe(3);
    expect(session.appendCount).toBe(8);
    expect(session.appendedMs).toBeCloseTo(110, 6);
  });

  it('answers conversation.item.truncate with an error by default, but records it', async () => {
    const { client, session } = await setup();
    client.send({ type: 'session.update', session: XAI_SESSION });
    await client.next('session.updated');
    const { itemIds } = await session.respond({ text: 'hello caller', audioMs: 600, realtimeFactor: Infinity });
    client.send({ type: 'conversation.item.truncate', item_id: itemIds[0], content_index: 0, audio_end_ms: 300 });
    const err = await client.next('error');
    expect(str(err, 'error.message')).toMatch(/truncat/i);
    expect(session.truncates).toMatchObject([{ itemId: itemIds[0], audioEndMs: 300, accepted: false, sentMs: 600 }]);
    expect(client.types()).not.toContain('conversation.item.truncated');
  });

  it('truncates when truncateSupported is set', async () => {
    const { client, session } = await setup({ truncateSupported: true });
    client.send({ type: 'session.update', session: XAI_SESSION });
    await client.next('session.updated');
    const { itemIds } = await session.respond({ text: 'hello caller', audioMs: 600, realtimeFactor: Infinity });
    client.send({ type: 'conversation.item.truncate', item_id: itemIds[0], content_index: 0, audio_end_ms: 300 });
    expect(await client.next('conversation.item.truncated')).toMatchObject({ item_id: itemIds[0], audio_end_ms: 300 });
  });

  it('speaks a force_message verbatim without response.create, with previous_item_id null', async () => {
    const { client } = await setup({ realtimeFactor: Infinity });
    client.send({ type: 'session.update', session: XAI_SESSION });
    await client.next('session.updated');
    client.send({
      type: 'conversation.item.create',
      item: { type: 'force_message', role: 'assistant', content: [{ type: 'output_text', text: 'Please hold.' }] },
    });
    const done = await client.next('response.done');
    expect(done.response).toMatchObject({
      status: 'completed',
      output: [{ role: 'assistant', content: [{ transcript: 'Please hold.' }] }],
    });
    const added = await client.next('conversation.item.added');
    expect(added.previous_item_id).toBeNull();
    // The lenient xAI parser accepts the beta `modalities` name the cookbook sends.
    client.send({ type: 'response.create', response: { modalities: ['audio'] } });
    await client.next('response.done');
    expect(client.types()).not.toContain('error');
  });

  it('runs VAD turns with top-level turn_detection and cancels the answer on barge-in', async () => {
    const { client, session } = await setup({ vad: true });
    client.send({ type: 'session.update', session: XAI_SESSION });
    await client.next('session.updated');
    session.onResponseCreate(() => ({ text: 'a long answer', audioMs: 5000, paceMs: 50 }));
    client.appendAudio(Buffer.concat([speechForText('I would like to book a table', 5), silence(400)]));
    const stopped = await client.next('input_audio_buffer.speech_stopped');
    const committed = await client.next('input_audio_buffer.committed');
    expect(committed).toMatchObject({ item_id: stopped.item_id, previous_item_id: null });
    await client.next('response.output_audio.delta');
    client.appendAudio(speechForText('no wait', 9));
    await client.next('input_audio_buffer.speech_started', (e) => e.item_id !== stopped.item_id);
    expect((await client.next('response.done')).response).toMatchObject({
      status: 'cancelled',
      status_details: { reason: 'turn_detected' },
    });
  });
});
