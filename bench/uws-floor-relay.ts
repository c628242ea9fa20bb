import WebSocket from 'ws';
import * as uWS from '../src/transports/uws.js';
import { MODEL_URL_ENV, encodeMessage, exitWith, memoryKiB, onCommands } from './child-protocol.js';

// The cheapest relay with no logic the benchmark compares against: uWebSockets.js facing Twilio (as
// callrelay does), `ws` facing the model, and per message exactly what passthrough-relay.ts does
// (the Twilio Node sample): JSON.parse every frame, JSON.stringify every frame out, one mark per
// model audio delta, truncate + clear on speech_started while marks are pending, the greeting once
// the session is configured. No validation, no state machine, no recording: the floor that only the
// transport sets, so "callrelay ÷ this" is what callrelay's features cost over the transport it uses.

const modelUrl = process.env[MODEL_URL_ENV];
if (!modelUrl) {
  process.stderr.write(`uws-floor-relay: ${MODEL_URL_ENV} is not set\n`);
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

// Unvalidated shapes on purpose, as in passthrough-relay.ts.
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

interface Call {
  streamSid: string | null;
  model: WebSocket | null;
  latestMediaTimestamp: number;
  lastAssistantItem: string | null;
  markQueue: string[];
  responseStartTimestamp: number | null;
  greeted: boolean;
  closed: boolean;
}

const decoder = new TextDecoder();
const sockets = new Set<uWS.WebSocket<Call>>();

function openModel(twilio: uWS.WebSocket<Call>, call: Call): WebSocket {
  const send = (o: unknown): void => {
    if (!call.closed) twilio.send(JSON.stringify(o), false);
  };
  const ws = new WebSocket(`${modelUrl}?model=${MODEL}`, { headers: { Authorization: 'Bearer bench' } });
  ws.on('open', () => ws.send(JSON.stringify(SESSION_UPDATE)));
  ws.on('message', (data) => {
    let msg: ModelIn;
    try {
      msg = JSON.parse(data.toString()) as ModelIn;
    } catch {
      return;
    }
    if (msg.type === 'session.updated' && !call.greeted) {
      call.greeted = true;
      ws.send(JSON.stringify({ type: 'response.create' }));
    }
    if (msg.type === 'response.output_audio.delta' && msg.delta) {
      send({ event: 'media', streamSid: call.streamSid, media: { payload: msg.delta } });
      if (call.responseStartTimestamp === null) call.responseStartTimestamp = call.latestMediaTimestamp;
      if (msg.item_id) call.lastAssistantItem = msg.item_id;
      send({ event: 'mark', streamSid: call.streamSid, mark: { name: 'responsePart' } });
      call.markQueue.push('responsePart');
    }
    if (
      msg.type === 'input_audio_buffer.speech_started' &&
      call.markQueue.length > 0 &&
      call.responseStartTimestamp !== null
    ) {
      const elapsed = call.latestMediaTimestamp - call.responseStartTimestamp;
      if (call.lastAssistantItem) {
        ws.send(
          JSON.stringify({
            type: 'conversation.item.truncate',
            item_id: call.lastAssistantItem,
            content_index: 0,
            audio_end_ms: elapsed,
          }),
        );
      }
      send({ event: 'clear', streamSid: call.streamSid });
      call.markQueue = [];
      call.lastAssistantItem = null;
      call.responseStartTimestamp = null;
    }
  });
  ws.on('error', () => undefined);
  ws.on('close', () => {
    if (call.closed) return;
    call.closed = true;
    twilio.end(1000, 'model closed');
  });
  return ws;
}

const app = uWS.App().ws<Call>('/media-stream', {
  compression: uWS.DISABLED,
  maxPayloadLength: 1024 * 1024,
  maxBackpressure: 1024 * 1024,
  idleTimeout: 60,
  upgrade: (res, req, context) => {
    const call: Call = {
      streamSid: null,
      model: null,
      latestMediaTimestamp: 0,
      lastAssistantItem: null,
      markQueue: [],
      responseStartTimestamp: null,
      greeted: false,
      closed: false,
    };
    res.upgrade(
      call,
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  },
  open: (ws) => {
    sockets.add(ws);
  },
  message: (ws, message) => {
    const call = ws.getUserData();
    let msg: TwilioIn;
    try {
      msg = JSON.parse(decoder.decode(message)) as TwilioIn;
    } catch {
      return;
    }
    switch (msg.event) {
      case 'start':
        call.streamSid = msg.start?.streamSid ?? null;
        call.model = openModel(ws, call);
        break;
      case 'media':
        call.latestMediaTimestamp = Number(msg.media?.timestamp ?? 0);
        if (call.model?.readyState === WebSocket.OPEN)
          call.model.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: msg.media?.payload }));
        break;
      case 'mark':
        call.markQueue.shift();
        break;
    }
  },
  close: (ws) => {
    sockets.delete(ws);
    const call = ws.getUserData();
    call.closed = true;
    if (call.model && call.model.readyState <= WebSocket.OPEN) call.model.close();
  },
});

const port = await new Promise<number>((resolve, reject) =>
  app.listen('127.0.0.1', 0, (listenSocket) =>
    listenSocket
      ? resolve(uWS.us_socket_local_port(listenSocket))
      : reject(new Error('uws-floor-relay: listen failed')),
  ),
);

onCommands(() =>
  process.stdout.write(
    encodeMessage({ bench: 'report', bargeInMs: [], toolMs: [], calls: sockets.size, memory: memoryKiB() }),
  ),
);
exitWith(async () => {
  for (const ws of [...sockets]) ws.close();
  app.close();
});
process.stdout.write(encodeMessage({ bench: 'ready', port, pid: process.pid }));
