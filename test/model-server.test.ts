import { afterEach, describe, expect, it } from 'vitest';
import { rmsDbfs } from '../src/audio/mulaw.js';
import { speechForText, silence } from '../src/audio/speechlike.js';
import { levelDbfs } from '../src/sim/model/model-audio.js';
import { FakeModelServer, type FakeModelServerOptions } from '../src/sim/model/model-server.js';
import type { FakeModelSession } from '../src/sim/model/model-session.js';
import { TestClient, at, num, str, type Ev } from './model-server-client.js';

const servers: FakeModelServer[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function setup(
  opts: Partial<FakeModelServerOptions> = {},
  query = '?model=gpt-realtime-2.1',
): Promise<{ server: FakeModelServer; client: TestClient; session: FakeModelSession }> {
  const server = await FakeModelServer.start({ dialect: 'openai', ...opts });
  servers.push(server);
  const client = await TestClient.connect(server.url + query);
  clients.push(client);
  const session = await server.nextSession();
  return { server, client, session };
}

const PCMU_SESSION = {
  type: 'realtime',
  instructions: 'You are a receptionist.',
  audio: {
    input: { format: { type: 'audio/pcmu' }, transcription: { model: 'gpt-4o-transcribe' } },
    output: { format: { type: 'audio/pcmu' }, voice: 'marin' },
  },
};

async function configure(client: TestClient, session: object = PCMU_SESSION): Promise<Ev> {
  client.send({ type: 'session.update', session });
  return client.next('session.updated');
}

function decodeDeltas(client: TestClient, responseId: string): Buffer {
  return Buffer.concat(
    client.events
      .filter((e) => e.type === 'response.output_audio.delta' && e.response_id === responseId)
      .map((e) => Buffer.from(str(e, 'delta'), 'base64')),
  );
}

describe('FakeModelServer (OpenAI GA dialect)', () => {
  it('greets with session.created (expires_at, model from the query) then conversation.created', async () => {
    const { client, session } = await setup();
    const created = await client.next('session.created');
    await client.next('conversation.created');
    expect(client.types().slice(0, 2)).toEqual(['session.created', 'conversation.created']);
    expect(str(created, 'session.model')).toBe('gpt-realtime-2.1');
    expect(str(created, 'session.type')).toBe('realtime');
    expect(num(created, 'session.expires_at')).toBeGreaterThan(Date.now() / 1000 + 3000);
    expect(session.model).toBe('gpt-realtime-2.1');
  });

  it('rejects session.update without session.type and beta flat fields, and stays open', async () => {
    const { client, session } = await setup();
    client.send({ type: 'session.update', event_id: 'evt_1', session: { instructions: 'hi' } });
    const e1 = await client.next('error');
    expect(e1.error).toEqual({
      type: 'invalid_request_error',
      code: 'missing_required_parameter',
      message: "Missing required parameter: 'session.type'.",
      param: 'session.type',
      event_id: 'evt_1',
    });

    client.send({ type: 'session.update', session: { type: 'realtime', input_audio_format: 'g711_ulaw' } });
    const e2 = await client.next('error');
    expect(str(e2, 'error.code')).toBe('unknown_parameter');
    expect(str(e2, 'error.message')).toBe("Unknown parameter: 'session.input_audio_format'.");

    client.send({
      type: 'session.update',
      session: { type: 'realtime', audio: { input: { format: { type: 'g711_ulaw' } } } },
    });
    const e3 = await client.next('error');
    expect(str(e3, 'error.message')).toBe(
      "Invalid value: 'g711_ulaw'. Supported values are: 'audio/pcm', 'audio/pcmu', and 'audio/pcma'.",
    );
    expect(session.view.inputFormat.type).toBe('audio/pcm'); // nothing applied

    const updated = await configure(client);
    expect(str(updated, 'session.audio.input.format.type')).toBe('audio/pcmu');
    expect(str(updated, 'session.audio.output.voice')).toBe('marin');
    expect(str(updated, 'session.instructions')).toBe('You are a receptionist.');
    // Fields not in the update keep their values (turn detection defaults survive the merge).
    expect(num(updated, 'session.audio.input.turn_detection.silence_duration_ms')).toBe(500);
    expect(session.view.inputFormat.type).toBe('audio/pcmu');
    expect(session.view.transcription).toBe(true);
    expect(session.errors.map((e) => e.code)).toEqual([
      'missing_required_parameter',
      'unknown_parameter',
      'invalid_value',
    ]);
  });

  it('answers unknown events and bad JSON with errors like the real API', async () => {
    const { client } = await setup();
    client.send({ type: 'response.audio.delta' });
    const e1 = await client.next('error');
    expect(str(e1, 'error.code')).toBe('invalid_value');
    expect(str(e1, 'error.message')).toMatch(
      /^Invalid value: 'response\.audio\.delta'\. Supported values are: 'session\.update'/,
    );
    client.send('{not json');
    expect(str(await client.next('error'), 'error.code')).toBe('invalid_json');
    client.send({ type: 'response.create', response: { modalities: ['audio', 'text'] } });
    expect(str(await client.next('error'), 'error.message')).toBe("Unknown parameter: 'response.modalities'.");
    client.send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text' }] },
    });
    expect(str(await client.next('error'), 'error.message')).toBe(
      "Missing required parameter: 'item.content[0].text'.",
    );
    await configure(client); // still open and working
  });

  it('streams a response in the GA event order with pcmu audio, transcript and usage', async () => {
    const { client, session } = await setup();
    await configure(client);
    const text = 'Thanks for calling, how can I help?';
    session.onResponseCreate(() => ({ text, audioMs: 500, chunkMs: 100, realtimeFactor: Infinity }));
    client.send({ type: 'response.create' });
    const done = await client.next('response.done');
    const rid = str(done, 'response.id');
    expect(client.responseSequence(rid)).toEqual([
      'response.created',
      'response.output_item.added',
      'conversation.item.added',
      'response.content_part.added',
      'response.output_audio.delta',
      'response.output_audio_transcript.delta',
      'response.output_audio.done',
      'response.output_audio_transcript.done',
      'response.content_part.done',
      'response.output_item.done',
      'conversation.item.done',
      'response.done',
    ]);
    const audio = decodeDeltas(client, rid);
    expect(audio.length).toBe(500 * 8); // pcmu: 8 bytes a ms
    expect(client.events.filter((e) => e.type === 'response.output_audio.delta')).toHaveLength(5);
    const transcript = client.events
      .filter((e) => e.type === 'response.output_audio_transcript.delta')
      .map((e) => str(e, 'delta'))
      .join('');
    expect(transcript).toBe(text);
    expect(str(await client.next('response.output_audio_transcript.done'), 'transcript')).toBe(text);
    expect(done.response).toMatchObject({
      object: 'realtime.response',
      status: 'completed',
      output: [
        {
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_audio', transcript: text }],
        },
      ],
    });
    expect(num(done, 'response.usage.output_token_details.audio_tokens')).toBeGreaterThan(0);
    const itemId = str(done, 'response.output.0.id');
    expect(session.items.map((i) => i.id)).toContain(itemId);
  });

  it('converts the voice to the session output format (audio/pcm 24 kHz)', async () => {
    const { client, session } = await setup();
    await configure(client, { type: 'realtime', audio: { output: { format: { type: 'audio/pcm', rate: 24000 } } } });
    const { responseId } = await session.respond({ text: 'Hello', audioMs: 200, realtimeFactor: Infinity });
    await client.next('response.done');
    expect(decodeDeltas(client, responseId).length).toBe(200 * 48);
    // Same voice level after the mu-law → PCM16 conversion.
    const pcm = decodeDeltas(client, responseId);
    const voice = speechForText('Hello').subarray(0, 1600);
    expect(levelDbfs(pcm, 0, pcm.length, { type: 'audio/pcm', rate: 24000 })).toBeCloseTo(rmsDbfs(voice), 0);
  });

  it('converts the voice to A-law (audio/pcma) at the same level', async () => {
    const { client, session } = await setup();
    await configure(client, { type: 'realtime', audio: { output: { format: { type: 'audio/pcma' } } } });
    const { responseId } = await session.respond({ text: 'Hello', audioMs: 200, realtimeFactor: Infinity });
    await client.next('response.done');
    const alaw = decodeDeltas(client, responseId);
    expect(alaw.length).toBe(1600);
    expect(alaw.equals(speechForText('Hello').subarray(0, 1600))).toBe(false);
    expect(levelDbfs(alaw, 0, alaw.length, { type: 'audio/pcma', rate: 8000 })).toBeCloseTo(
      rmsDbfs(speechForText('Hello').subarray(0, 1600)),
      0,
    );
  });

  it('emits function calls and accepts their output', async () => {
    const { client, session } = await setup();
    await configure(client);
    const args = '{"order_id":"A-42"}';
    const result = await session.respond({ functionCalls: [{ name: 'lookup_order', arguments: args }] });
    expect(result.status).toBe('completed');
    const done = await client.next('response.done');
    expect(client.responseSequence(result.responseId)).toEqual([
      'response.created',
      'response.output_item.added',
      'conversation.item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'conversation.item.done',
      'response.done',
    ]);
    const added = await client.next('response.output_item.added');
    const callId = str(added, 'item.call_id');
    expect(added.item).toMatchObject({ type: 'function_call', name: 'lookup_order' });
    const deltas = client.events
      .filter((e) => e.type === 'response.function_call_arguments.delta')
      .map((e) => str(e, 'delta'));
    expect(deltas.join('')).toBe(args);
    const argsDone = await client.next('response.function_call_arguments.done');
    expect(argsDone).toMatchObject({
      call_id: callId,
      name: 'lookup_order',
      arguments: args,
      response_id: result.responseId,
      item_id: result.itemIds[0],
    });
    expect(done.response).toMatchObject({
      status: 'completed',
      output: [{ type: 'function_call', call_id: callId, arguments: args }],
    });

    client.send({
      type: 'conversation.item.create',
      item: { type: 'function_call_output', call_id: callId, output: '{"status":"shipped"}' },
    });
    const itemAdded = await client.next(
      'conversation.item.added',
      (e) => at(e, 'item.type') === 'function_call_output',
    );
    expect(itemAdded).toMatchObject({
      previous_item_id: result.itemIds[0],
      item: { call_id: callId, output: '{"status":"shipped"}' },
    });
    await client.next('conversation.item.done', (e) => at(e, 'item.type') === 'function_call_output');
    expect((await session.waitFor('conversation.item.create')).item).toMatchObject({
      type: 'function_call_output',
      call_id: callId,
    });
  });

  it('refuses a second response.create while one is active, and cancels on response.cancel', async () => {
    const { client, session } = await setup();
    await configure(client);
    session.onResponseCreate(() => ({
      text: 'A long answer that takes a while.',
      audioMs: 10_000,
      chunkMs: 100,
      paceMs: 20,
    }));
    client.send({ type: 'response.create' });
    const created = await client.next('response.created');
    const rid = str(created, 'response.id');
    await client.next('response.output_audio.delta');
    client.send({ type: 'response.create', event_id: 'evt_again' });
    const err = await client.next('error');
    expect(err.error).toMatchObject({
      code: 'conversation_already_has_active_response',
      event_id: 'evt_again',
      message:
        `Conversation already has an active response in progress: ${rid}. Wait until the response is ` +
        `finished before creating a new one.`,
    });
    expect(session.activeResponseId).toBe(rid);

    client.send({ type: 'response.cancel' });
    const done = await client.next('response.done');
    expect(done.response).toMatchObject({
      id: rid,
      status: 'cancelled',
      status_details: { type: 'cancelled', reason: 'client_cancelled' },
    });
    expect(at(done, 'response.output.0.status')).toBe('incomplete');
    const deltasAtDone = client.events.filter((e) => e.type === 'response.output_audio.delta').length;
    expect(deltasAtDone).toBeLessThan(100);
    await new Promise((r) => setTimeout(r, 100));
    expect(client.events.filter((e) => e.type === 'response.output_audio.delta').length).toBe(deltasAtDone);
    expect(session.activeResponseId).toBeUndefined();

    client.send({ type: 'response.cancel', event_id: 'evt_c' });
    expect((await client.next('error')).error).toMatchObject({
      code: 'response_cancel_not_active',
      message: 'Cancellation failed: no active response found',
      event_id: 'evt_c',
    });
  });

  it(
    'truncates assistant audio it has sent, refuses longer truncates with the real error text, and records ' + 'them',
    async () => {
      const { client, session } = await setup();
      await configure(client);
      const text = 'one two three four five six seven eight nine ten';
      const { itemIds } = await session.respond({ text, audioMs: 1000, realtimeFactor: Infinity });
      const itemId = itemIds[0] ?? '';
      client.send({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: 1200 });
      expect(str(await client.next('error'), 'error.message')).toBe(
        'Audio content of 1000ms is already shorter than 1200ms',
      );

      client.send({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: 400 });
      expect(await client.next('conversation.item.truncated')).toMatchObject({
        item_id: itemId,
        content_index: 0,
        audio_end_ms: 400,
      });
      expect(session.truncates.map((t) => [t.audioEndMs, t.accepted, t.sentMs])).toEqual([
        [1200, false, 1000],
        [400, true, 1000],
      ]);
      const item = session.items.find((i) => i.id === itemId);
      const transcript =
        item?.type === 'message' && item.content[0]?.type === 'output_audio' ? (item.content[0].transcript ?? '') : '';
      expect(transcript.length).toBeGreaterThan(0);
      expect(transcript.length).toBeLessThan(text.length * 0.5);
      expect(text.startsWith(transcript)).toBe(true);
    },
  );

  it(
    'runs a VAD turn from speech-like audio: speech_started/stopped, commit, user item, response; barge-in ' +
      'cancels',
    async () => {
      const { client, session } = await setup({ vad: true });
      await configure(client, {
        ...PCMU_SESSION,
        audio: {
          ...PCMU_SESSION.audio,
          input: {
            format: { type: 'audio/pcmu' },
            turn_detection: { type: 'server_vad', prefix_padding_ms: 100, silence_duration_ms: 400 },
          },
        },
      });
      session.onResponseCreate((req) => ({ text: `answer to ${req.trigger}`, audioMs: 4000, paceMs: 50 }));
      client.appendAudio(Buffer.concat([silence(300), speechForText('hello there I need help', 7), silence(600)]));
      const started = await client.next('input_audio_buffer.speech_started');
      expect(num(started, 'audio_start_ms')).toBeGreaterThanOrEqual(150);
      expect(num(started, 'audio_start_ms')).toBeLessThanOrEqual(260);
      const stopped = await client.next('input_audio_buffer.speech_stopped');
      const speechEnd = 300 + 'hello there I need help'.length * 65;
      expect(num(stopped, 'audio_end_ms')).toBeGreaterThanOrEqual(speechEnd + 300);
      expect(num(stopped, 'audio_end_ms')).toBeLessThanOrEqual(speechEnd + 500);
      const itemId = str(started, 'item_id');
      expect(str(stopped, 'item_id')).toBe(itemId);
      expect(await client.next('input_audio_buffer.committed')).toMatchObject({ item_id: itemId });
      expect((await client.next('conversation.item.added')).item).toMatchObject({
        id: itemId,
        role: 'user',
        content: [{ type: 'input_audio' }],
      });
      const created = await client.next('response.created');
      await client.next('response.output_audio.delta');
      expect(session.lastUserItemId).toBe(itemId);

      session.userTranscript(undefined, 'hello there I need help');
      expect(await client.next('conversation.item.input_audio_transcription.completed')).toMatchObject({
        item_id: itemId,
        content_index: 0,
        transcript: 'hello there I need help',
      });

      // The caller talks over the answer: the server cancels it itself (interrupt_response defaults to true).
      client.appendAudio(speechForText('wait', 3));
      await client.next('input_audio_buffer.speech_started', undefined, 3000);
      const done = await client.next('response.done');
      expect(done.response).toMatchObject({
        id: str(created, 'response.id'),
        status: 'cancelled',
        status_details: { reason: 'turn_detected' },
      });
      const types = client.types();
      expect(types.lastIndexOf('input_audio_buffer.speech_started')).toBeLessThan(types.lastIndexOf('response.done'));
    },
  );

  it('commits and clears the input buffer manually', async () => {
    const { client, session } = await setup();
    await configure(client, {
      type: 'realtime',
      audio: { input: { format: { type: 'audio/pcmu' }, turn_detection: null } },
    });
    client.appendAudio(silence(60));
    client.send({ type: 'input_audio_buffer.commit' });
    expect(str(await client.next('error'), 'error.code')).toBe('input_audio_buffer_commit_empty');
    client.appendAudio(silence(200));
    client.send({ type: 'input_audio_buffer.commit' });
    const committed = await client.next('input_audio_buffer.committed');
    expect((await client.next('conversation.item.added')).item).toMatchObject({
      id: str(committed, 'item_id'),
      role: 'user',
    });
    client.send({ type: 'input_audio_buffer.clear' });
    await client.next('input_audio_buffer.cleared');
    expect(session.appendedBytes).toBe(260 * 8);
    expect(session.appendedMs).toBe(260);
    expect(session.appendedAudio().equals(silence(260))).toBe(true);
    expect(client.types()).not.toContain('response.created'); // manual turns never answer by themselves
  });

  it('refuses voice changes once assistant audio exists', async () => {
    const { client, session } = await setup();
    await configure(client);
    await session.respond({ text: 'hi', audioMs: 100, realtimeFactor: Infinity });
    client.send({ type: 'session.update', session: { type: 'realtime', audio: { output: { voice: 'cedar' } } } });
    expect((await client.next('error')).error).toMatchObject({ code: 'cannot_update_voice' });
  });

  it('rejects upgrades with a wrong or missing API key with HTTP 401', async () => {
    const server = await FakeModelServer.start({ dialect: 'openai', apiKey: 'sk-test-123' });
    servers.push(server);
    expect(await TestClient.refusedStatus(server.url)).toBe(401);
    expect(await TestClient.refusedStatus(server.url, { Authorization: 'Bearer sk-wrong' })).toBe(401);
    expect(
      await TestClient.refusedStatus(server.url.replace('/v1/realtime', '/v1/other'), {
        Authorization: 'Bearer sk-test-123',
      }),
    ).toBe(404);
    const ok = await TestClient.connect(server.url, { headers: { Authorization: 'Bearer sk-test-123' } });
    clients.push(ok);
    await ok.next('session.created');
    expect(server.sessions).toHaveLength(1);
    expect(server.rejectedUpgrades).toBe(3);
  });

  it('refuses the dead beta interface with beta_api_shape_disabled and close 4000', async () => {
    const server = await FakeModelServer.start({ dialect: 'openai' });
    servers.push(server);
    const client = await TestClient.connect(server.url, { headers: { 'OpenAI-Beta': 'realtime=v1' } });
    clients.push(client);
    expect(str(await client.next('error'), 'error.code')).toBe('beta_api_shape_disabled');
    expect((await client.closed).code).toBe(4000);
    expect(server.sessions).toHaveLength(0);
  });

  it('drop() closes abruptly or with a code; expiry sends session_expired and closes 1001', async () => {
    const a = await setup();
    a.session.drop();
    expect((await a.client.closed).code).toBe(1006);
    const b = await setup();
    b.session.drop(4001, 'bye');
    expect(await b.client.closed).toEqual({ code: 4001, reason: 'bye' });
    const c = await setup({ maxSessionMs: 150 });
    const err = await c.client.next('error');
    expect(err.error).toMatchObject({
      code: 'session_expired',
      message: 'Your session hit the maximum duration of 0.15 seconds.',
    });
    expect((await c.client.closed).code).toBe(1001);
  });

  it('close() closes sessions with 1001 and leaves no sockets or timers behind', async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
    const server = await FakeModelServer.start({ dialect: 'openai', realtimeFactor: 1 });
    const client = await TestClient.connect(server.url);
    const session = await server.nextSession();
    void session.respond({ text: 'still talking when the server goes away', audioMs: 5000 });
    await client.next('response.output_audio.delta');
    await server.close();
    expect((await client.closed).code).toBe(1001);
    expect(session.isOpen).toBe(false);
    await new Promise((r) => setTimeout(r, 20));
    const after = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
    const count = (list: string[], kind: string): number => list.filter((r) => r === kind).length;
    for (const kind of ['TCPServerWrap', 'TCPSocketWrap', 'Timeout', 'Immediate'])
      expect(count(after, kind)).toBeLessThanOrEqual(count(before, kind));
  });
});
