// What the OpenAI SIP imitation's tests share: a tiny webhook receiver standing in for the
// application (the relay's own route is not used here), the sim started against it, an openai SDK
// client pointed at the sim, and a session body for accept.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, { APIError } from 'openai';
import type { CallAcceptParams } from 'openai/resources/realtime/calls';
import { SimOpenAISip, type SimOpenAISipOptions } from '../../src/sim/openai-sip/sip-server.js';
import { TestClient } from '../model-server-client.js';

export const API_KEY = 'sk-test-sip-0123456789';
export const WEBHOOK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

export interface ReceivedWebhook {
  headers: Record<string, string>;
  body: string;
}

/** The application's webhook endpoint: records every POST and answers what `answer` says (default 200). */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  answer: (w: ReceivedWebhook) => number | Promise<number> = () => 200;

  private constructor(
    readonly url: string,
    private readonly http: Server,
  ) {}

  static async start(): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | undefined;
    const http = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        const w = { headers, body: Buffer.concat(chunks).toString('utf8') };
        receiver?.received.push(w);
        void Promise.resolve(receiver?.answer(w) ?? 500).then((status) => res.writeHead(status).end());
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const port = (http.address() as AddressInfo).port;
    receiver = new WebhookReceiver(`http://127.0.0.1:${port}/openai/webhook`, http);
    return receiver;
  }

  close(): Promise<void> {
    this.http.closeAllConnections();
    return new Promise((resolve) => this.http.close(() => resolve()));
  }
}

export interface SipSetup {
  sim: SimOpenAISip;
  receiver: WebhookReceiver;
  /** The SDK as the application would hold it (no retries unless a test asks). */
  openai: OpenAI;
  close(): Promise<void>;
}

export async function startSip(
  opts: Partial<SimOpenAISipOptions> = {},
  clientOpts: { maxRetries?: number } = {},
): Promise<SipSetup> {
  const receiver = await WebhookReceiver.start();
  const sim = await SimOpenAISip.start({
    webhookUrl: receiver.url,
    webhookSecret: WEBHOOK_SECRET,
    apiKey: API_KEY,
    realtimeFactor: Number.POSITIVE_INFINITY,
    ...opts,
  });
  const openai = new OpenAI({
    apiKey: API_KEY,
    baseURL: sim.apiBaseUrl,
    webhookSecret: WEBHOOK_SECRET,
    maxRetries: clientOpts.maxRetries ?? 0,
  });
  return {
    sim,
    receiver,
    openai,
    close: async () => {
      await sim.close();
      await receiver.close();
    },
  };
}

export const ACCEPT_BODY: CallAcceptParams = {
  type: 'realtime',
  model: 'gpt-realtime',
  instructions: 'You are the receptionist of a small test bakery.',
  audio: {
    input: {
      transcription: { model: 'gpt-4o-transcribe' },
      turn_detection: { type: 'server_vad', silence_duration_ms: 300 },
      noise_reduction: { type: 'near_field' },
    },
    output: { voice: 'marin' },
  },
  tools: [
    {
      type: 'function',
      name: 'lookup_booking',
      description: 'Find a booking',
      parameters: { type: 'object', properties: { code: { type: 'string' } }, required: ['code'] },
    },
  ],
  tool_choice: 'auto',
};

/** The APIError a rejected SDK call threw (fails the test if it resolved or threw something else). */
export async function apiError(p: Promise<unknown>): Promise<APIError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof APIError) return err;
    throw err;
  }
  throw new Error('the request succeeded');
}

export function sideband(sim: SimOpenAISip, callId: string, key = API_KEY): Promise<TestClient> {
  return TestClient.connect(`${sim.realtimeUrl}?call_id=${callId}`, { headers: { Authorization: `Bearer ${key}` } });
}

export function sidebandRefusal(sim: SimOpenAISip, callId: string, key = API_KEY): Promise<number> {
  return TestClient.refusedStatus(`${sim.realtimeUrl}?call_id=${callId}`, { Authorization: `Bearer ${key}` });
}
