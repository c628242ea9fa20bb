import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import { MODEL_URL_ENV, encodeMessage, exitWith, memoryKiB, onCommands } from './child-protocol.js';

// The naive relay the benchmark compares against: `ws` on both sides, doing what Twilio's own Node
// sample (speech-assistant-openai-realtime-api-node, GA revision) does per message: JSON.parse every
// frame, JSON.stringify every frame out, one Twilio mark per model audio delta, and on speech_started
// a truncate + clear while marks are pending. Only the greeting is added (response.create once the
// session is configured), so the fake model streams to it exactly as it does to the real relay.
// No validation, no state machine, no recording: the floor a production relay is measured against.

const modelUrl = process.env[MODEL_URL_ENV];
if (!modelUrl) {
  process.stderr.write(`passthrough-relay: ${MODEL_URL_ENV} is not set\n`);
  process.exit(2);
}
const MODEL = 'gpt-realtime';

const SESSION_UPDATE = {
  type: 'session.update',
  session: {
    type: 'realtime',
    model: MODEL,
    output_modalities: ['audio'],
    instructions: 'You are a helpful receptionist.',
    audio: {
      input: { format: { type: 'audio/pcmu' }, turn_detection: { type: 'server_vad' } },
      output: { format: { type: 'audio/pcmu' }, voice: 'marin' },
    },
  },
};

// Unvalidated shapes on purpose: the sample trusts JSON.parse output, and the baseline must not pay
// for checks it does not make. (callrelay parses into checked unions: that cost is part of the ratio.)
interface TwilioIn {
  event?: string;
  start?: { streamSid?: string };
  media?: { payload?: string; timestamp?: string };
}

interface ModelIn {
  type?: string;
  delta?: string;
  item_id?: string;
}

const text = (data: RawData): string =>
  (Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)).toString();

function onTwilio(twilio: WebSocket): void {
  let streamSid: string | null = null;
  let model: WebSocket | null = null;
  let latestMediaTimestamp = 0;
  let lastAssistantItem: string | null = null;
  let markQueue: string[] = [];
  let responseStartTimestamp: number | null = null;
  let greeted = false;

  const openModel = (): WebSocket => {
    const ws = new WebSocket(`${modelUrl}?model=${MODEL}`, { headers: { Authorization: 'Bearer bench' } });
    ws.on('open', () => ws.send(JSON.stringify(SESSION_UPDATE)));
    ws.on('message', (data) => {
      let msg: ModelIn;
      try {
        msg = JSON.parse(text(data)) as ModelIn;
      } catch {
        return;
      }
      if (msg.type === 'session.updated' && !greeted) {
        greeted = true;
        ws.send(JSON.stringify({ type: 'response.create' }));
      }
      if (msg.type === 'response.output_audio.delta' && msg.delta) {
        twilio.send(JSON.stringify({ event: 'media', streamSid, media: { payload: msg.delta } }));
        if (responseStartTimestamp === null) responseStartTimestamp = latestMediaTimestamp;
        if (msg.item_id) lastAssistantItem = msg.item_id;
        twilio.send(JSON.stringify({ event: 'mark', streamSid, mark: { name: 'responsePart' } }));
        markQueue.push('responsePart');
      }
      if (msg.type === 'input_audio_buffer.speech_started' && markQueue.length > 0 && responseStartTimestamp !== null) {
        const elapsed = latestMediaTimestamp - responseStartTimestamp;
        if (lastAssistantItem) {
          ws.send(
            JSON.stringify({
              type: 'conversation.item.truncate',
              item_id: lastAssistantItem,
              content_index: 0,
              audio_end_ms: elapsed,
            }),
          );
        }
        twilio.send(JSON.stringify({ event: 'clear', streamSid }));
        markQueue = [];
        lastAssistantItem = null;
        responseStartTimestamp = null;
      }
    });
    ws.on('error', () => undefined);
    ws.on('close', () => twilio.close());
    return ws;
  };

  twilio.on('message', (data) => {
    let msg: TwilioIn;
    try {
      msg = JSON.parse(text(data)) as TwilioIn;
    } catch {
      return;
    }
    switch (msg.event) {
      case 'start':
        streamSid = msg.start?.streamSid ?? null;
        model = openModel();
        break;
      case 'media':
        latestMediaTimestamp = Number(msg.media?.timestamp ?? 0);
        if (model?.readyState === WebSocket.OPEN)
          model.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: msg.media?.payload }));
        break;
      case 'mark':
        markQueue.shift();
        break;
    }
  });
  twilio.on('error', () => undefined);
  twilio.on('close', () => {
    if (model && model.readyState <= WebSocket.OPEN) model.close();
  });
}

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/media-stream' });
server.on('connection', onTwilio);
await new Promise<void>((resolve) => server.once('listening', resolve));

onCommands(() =>
  process.stdout.write(
    encodeMessage({ bench: 'report', bargeInMs: [], toolMs: [], calls: server.clients.size, memory: memoryKiB() }),
  ),
);
exitWith(
  () =>
    new Promise<void>((resolve) => {
      for (const c of server.clients) c.terminate();
      server.close(() => resolve());
    }),
);
process.stdout.write(encodeMessage({ bench: 'ready', port: (server.address() as AddressInfo).port, pid: process.pid }));
