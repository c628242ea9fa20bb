import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

// A local stand-in for OpenAI's Chat Completions endpoint (POST /v1/chat/completions, non-streaming),
// the one the SMS bot uses, so the real `openai` client runs against it (OPENAI_BASE_URL = `baseUrl`).
// Response and error bodies follow OpenAI's shapes; requests are recorded; the answer, latency and
// failures are scriptable.

export interface ChatMessage {
  role: string;
  content: string;
}

export interface RecordedChatRequest {
  headers: IncomingHttpHeaders;
  /** The JSON body as sent. */
  body: Record<string, unknown>;
  model: string;
  /** Messages with string content (content parts are joined). */
  messages: ChatMessage[];
}

export interface FakeOpenAIOptions {
  /** Accepted bearer token (default: every non-empty one). */
  apiKey?: string;
  delayMs?: number;
  /** The assistant's answer (default: a fixed sentence naming the last user message). */
  reply?: (req: RecordedChatRequest) => string;
}

function text(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p: unknown) =>
        typeof p === 'object' && p !== null && 'text' in p && typeof p.text === 'string' ? p.text : '',
      )
      .join('');
  }
  return '';
}

function readMessages(v: unknown): ChatMessage[] | null {
  if (!Array.isArray(v)) return null;
  const out: ChatMessage[] = [];
  for (const m of v as unknown[]) {
    if (typeof m !== 'object' || m === null || !('role' in m) || typeof m.role !== 'string') return null;
    out.push({ role: m.role, content: 'content' in m ? text(m.content) : '' });
  }
  return out;
}

const errorBody = (message: string, type: string, code: string | null, param: string | null = null) => ({
  error: { message, type, param, code },
});

export class FakeOpenAIServer {
  readonly baseUrl: string;
  readonly requests: RecordedChatRequest[] = [];
  delayMs: number;
  reply: (req: RecordedChatRequest) => string;
  private failures: Array<{ status: number; remaining: number }> = [];

  private constructor(
    private readonly server: Server,
    private readonly opts: FakeOpenAIOptions,
  ) {
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    this.delayMs = opts.delayMs ?? 0;
    this.reply =
      opts.reply ??
      ((r) => `Simulated model answer to: ${r.messages.filter((m) => m.role === 'user').at(-1)?.content ?? ''}`);
  }

  static async start(opts: FakeOpenAIOptions = {}): Promise<FakeOpenAIServer> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const fake = new FakeOpenAIServer(server, opts);
    server.on('request', (req, res) => void fake.handle(req, res).catch(() => res.destroy()));
    return fake;
  }

  /** The next `times` completions fail with `status` (500: server_error, 429: rate limit, …). */
  fail(status: number, times = 1): void {
    this.failures.push({ status, remaining: times });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: unknown) => {
      if (res.destroyed) return;
      res.writeHead(status, {
        'Content-Type': 'application/json',
        'x-request-id': `req_${randomBytes(12).toString('hex')}`,
      });
      res.end(JSON.stringify(body));
    };
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const path = new URL(req.url ?? '/', this.baseUrl).pathname;
    if (req.method !== 'POST' || path !== '/v1/chat/completions')
      return send(
        404,
        errorBody(`Unknown request URL: ${req.method} ${path}.`, 'invalid_request_error', 'unknown_url'),
      );
    const token = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token || (this.opts.apiKey !== undefined && token !== this.opts.apiKey)) {
      return send(401, errorBody('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'));
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(400, errorBody('We could not parse the JSON body of your request.', 'invalid_request_error', null));
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return send(400, errorBody('The body must be a JSON object.', 'invalid_request_error', null));
    const b = body as Record<string, unknown>;
    const messages = readMessages(b.messages);
    if (typeof b.model !== 'string' || b.model === '')
      return send(400, errorBody('you must provide a model parameter', 'invalid_request_error', null, 'model'));
    if (!messages || messages.length === 0)
      return send(
        400,
        errorBody(
          "Missing required parameter: 'messages'.",
          'invalid_request_error',
          'missing_required_parameter',
          'messages',
        ),
      );
    if (b.stream === true)
      return send(400, errorBody('This fake does not stream.', 'invalid_request_error', null, 'stream'));
    const recorded: RecordedChatRequest = { headers: req.headers, body: b, model: b.model, messages };
    this.requests.push(recorded);
    const failure = this.failures.find((f) => f.remaining > 0);
    if (failure) {
      failure.remaining--;
      return send(
        failure.status,
        errorBody(
          'The server had an error while processing your request.',
          failure.status === 429 ? 'requests' : 'server_error',
          null,
        ),
      );
    }
    const content = this.reply(recorded);
    const promptTokens = messages.reduce((n, m) => n + Math.ceil(m.content.length / 4), 0);
    const completionTokens = Math.ceil(content.length / 4);
    send(200, {
      id: `chatcmpl-${randomBytes(12).toString('hex')}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: b.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content, refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: 0,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      },
      service_tier: 'default',
      system_fingerprint: null,
    });
  }
}
