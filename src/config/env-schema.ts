import { isIP } from 'node:net';
import { z } from 'zod';
import type { ProviderName } from '../merchants/merchant.js';
import { parseTrustProxy } from '../security/client-ip.js';
import { parseAllowedOrigins } from '../security/origin.js';
import { parseEncryptionKey } from '../security/token.js';
import {
  bad,
  digits,
  e164,
  httpBase,
  httpUrl,
  inspectSwitch,
  inspectUrl,
  integer,
  parsed,
  quoted,
  region,
  wsUrl,
} from './env-values.js';
import { variable, type EnvVar } from './env-var.js';

// Every environment variable the relay reads: its section, a one-line description, how its value is
// checked and what applies when it is unset. The loaders read through this table (env-reader.ts), and
// test/config-docs.test.ts keeps .env.example and the README's Configuration table in step with it.
// A schema sees the trimmed value, never a blank one: an empty `NAME=` line means unset.
// Rules that span variables (required in production, required for SMS) live in the loaders.

export { ENV_SECTIONS, type EnvSection, type EnvVar } from './env-var.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type NodeEnv = 'production' | 'development' | 'test';
const PROVIDERS = ['openai', 'openai-live', 'xai', 'sim'] as const satisfies readonly ProviderName[];

/** INSPECT: which statechart inspector runs (development only). */
export type InspectSwitch = { kind: 'off' } | { kind: 'ws' } | { kind: 'jsonl'; dir: string };

export const DEFAULT_MAX_SESSION_SECONDS = 600;
export const DEFAULT_DATA_DIR = './data';
export const DEFAULT_INSPECT_URL = 'ws://127.0.0.1:8089';
export const DEFAULT_GOOGLE_API_ROOT_URL = 'https://www.googleapis.com/';
export const DEFAULT_GOOGLE_OAUTH_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const DEFAULT_GOOGLE_OAUTH_AUTH_URL = 'https://accounts.google.com/o/oauth2/v2/auth';
export const DEFAULT_GOOGLE_OAUTH_REVOKE_URL = 'https://oauth2.googleapis.com/revoke';
export const DEFAULT_BOT_IDENTITY = 'callrelay-bot';
export const DEFAULT_TEXT_MODEL = 'gpt-4.1-mini';
export const DEFAULT_XAI_TEXT_MODEL = 'grok-3-mini';
export const DEFAULT_MAX_NUMBERS = 5;

// ---- the variables ----------------------------------------------------------------------------------

const text = () => z.string();

export const ENV_VARS = {
  // Server
  NODE_ENV: variable(
    'Server',
    '`production` makes missing keys, PUBLIC_HOST and TWILIO_AUTH_TOKEN start-up errors; other values: development',
    parsed((raw): NodeEnv => (raw === 'production' || raw === 'test' ? raw : 'development')).default('development'),
  ),
  PORT: variable('Server', 'HTTP/WebSocket port', integer(0, 65535).default(8080)),
  HOST: variable(
    'Server',
    'address to listen on: an IP of this machine (0.0.0.0 and :: mean all) or localhost',
    // What uWebSockets.js can bind; any other name failed only later, in listen, as a stack trace.
    parsed((raw) =>
      isIP(raw) !== 0 || raw === 'localhost'
        ? raw
        : bad(`expected an IP address to listen on (0.0.0.0, ::, 127.0.0.1) or localhost, got ${quoted(raw)}`),
    ).default('0.0.0.0'),
  ),
  PUBLIC_HOST: variable(
    'Server',
    'host[:port] Twilio reaches (no scheme or path): stream URL wss://PUBLIC_HOST/media-stream, signatures use it',
    parsed((raw) =>
      /^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(raw)
        ? raw
        : bad(`expected a host name like relay.example.com (no scheme or path), got ${quoted(raw)}`),
    ).optional(),
    'localhost:PORT (required in production)',
  ),
  LOG_LEVEL: variable(
    'Server',
    'pino level: fatal, error, warn, info, debug, trace or silent',
    z
      .enum(LOG_LEVELS, { error: (i) => `expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(i.input)}` })
      .default('info'),
  ),

  // Model provider
  PROVIDER: variable(
    'Model provider',
    '`openai`, `openai-live` (GPT-Live), `xai` or `sim` (the local simulated agent, refused in production); ' +
      'merchants may override it',
    z
      .enum(PROVIDERS, {
        error: (i) => `unknown provider ${JSON.stringify(i.input)} (expected openai, openai-live, xai or sim)`,
      })
      .optional(),
    'openai if OPENAI_API_KEY is set, else xai if XAI_API_KEY is set, else sim',
  ),
  OPENAI_API_KEY: variable('Model provider', 'OpenAI API key (realtime calls and SMS replies)', text().optional()),
  OPENAI_REALTIME_URL: variable(
    'Model provider',
    'OpenAI Realtime endpoint',
    wsUrl.default('wss://api.openai.com/v1/realtime'),
  ),
  OPENAI_REALTIME_MODEL: variable('Model provider', 'OpenAI realtime model', text().default('gpt-realtime-2.1')),
  OPENAI_VOICE: variable('Model provider', 'OpenAI voice', text().default('marin')),
  OPENAI_LIVE_URL: variable(
    'Model provider',
    'OpenAI GPT-Live endpoint (PROVIDER=openai-live; the key is OPENAI_API_KEY)',
    wsUrl.default('wss://api.openai.com/v1/live/sessions'),
  ),
  OPENAI_LIVE_MODEL: variable('Model provider', 'GPT-Live model', text().default('gpt-live-1')),
  OPENAI_LIVE_TOOLS_MODEL: variable(
    'Model provider',
    'the Responses model GPT-Live delegates tool calls to',
    text().default('gpt-5.5'),
  ),
  OPENAI_TRANSCRIPTION_MODEL: variable(
    'Model provider',
    "model that transcribes the caller's speech",
    text().default('gpt-4o-transcribe'),
  ),
  XAI_API_KEY: variable('Model provider', 'xAI API key (Grok Voice)', text().optional()),
  XAI_REALTIME_URL: variable('Model provider', 'xAI realtime endpoint', wsUrl.default('wss://api.x.ai/v1/realtime')),
  XAI_REALTIME_MODEL: variable('Model provider', 'xAI realtime model', text().default('grok-voice-latest')),
  XAI_VOICE: variable('Model provider', 'xAI voice', text().default('ara')),
  XAI_TEXT_MODEL: variable(
    'Model provider',
    "xAI chat model that writes the post-call webhook's summary for merchants on xAI",
    text().default(DEFAULT_XAI_TEXT_MODEL),
  ),
  XAI_BASE_URL: variable(
    'Model provider',
    'xAI HTTP API base URL for those summaries (tests, proxies)',
    httpBase.optional(),
    'https://api.x.ai/v1',
  ),

  // Calls
  MAX_CALL_SECONDS: variable(
    'Calls',
    'longest call in seconds (1..14400): the assistant is asked to wrap up, then the call ends',
    integer(1, 4 * 3600).default(600),
  ),
  MODEL_CONNECT_TIMEOUT_MS: variable(
    'Calls',
    'wait for the model session this long (ms, 100..60000) before apologising and hanging up',
    integer(100, 60_000).default(8000),
  ),
  MAX_LIVE_CALLS: variable(
    'Calls',
    'calls at once (0 = no limit); past it a call is refused busy (SIP 486, Twilio <Reject reason="busy">)',
    integer(0, 100_000).default(0),
  ),
  MODEL_RESPONSE_TIMEOUT_MS: variable(
    'Calls',
    'a response the model owes that stays silent this long (ms, 1000..120000) ends the call `model_stalled`',
    integer(1000, 120_000).default(10_000),
  ),
  SILENCE_REPROMPT_SECONDS: variable(
    'Calls',
    'caller silence (s, 2..120) while the assistant waits before it asks if they are still there; ' +
      'a second one ends the call `caller_silent`',
    integer(2, 120).default(8),
  ),

  // SIP calls
  OPENAI_WEBHOOK_SECRET: variable(
    'SIP calls',
    "secret (whsec_…) of the OpenAI project's webhook to POST /openai/webhook; set, SIP calls are answered",
    parsed((raw) => (raw.startsWith('whsec_') ? raw : bad('expected the whsec_… secret OpenAI shows'))).optional(),
    '– (SIP path off)',
  ),
  OPENAI_SIP_URI: variable(
    'SIP calls',
    'sip:PROJECT_ID@sip.api.openai.com;transport=tls: where the voice webhook sends `transport: sip` merchants',
    parsed((raw) => (/^sips?:[^\s]+@[^\s]+$/.test(raw) ? raw : bad('expected sip:PROJECT_ID@host…'))).optional(),
    '– (such merchants stay on Media Streams)',
  ),
  // Edge
  ENCRYPTION_KEY: variable(
    'Edge',
    '32 random bytes as base64 (openssl rand -base64 32): key of the browser access tokens (AES-256-GCM)',
    parsed(parseEncryptionKey).optional(),
    '– (browser relay off)',
  ),
  ALLOWED_ORIGINS: variable(
    'Edge',
    'comma-separated browser origins allowed on the relay; a port may be a wildcard (http://localhost:*)',
    parsed(parseAllowedOrigins).default(() => parseAllowedOrigins(undefined)),
    '`http://localhost:*`',
  ),
  TWILIO_AUTH_TOKEN: variable(
    'Edge',
    'checks X-Twilio-Signature on every webhook and the /media-stream upgrade; required in production and for SMS',
    text().optional(),
    '– (validation off, logged)',
  ),
  TRUST_PROXY: variable(
    'Edge',
    "header your proxy puts the client's IP in: Fly-Client-IP, or X-Forwarded-For[:hops]",
    parsed(parseTrustProxy).default(() => parseTrustProxy(undefined)),
    '– (the socket peer)',
  ),
  REDIS_URL: variable(
    'Edge',
    'redis:// or rediss:// URL: rate-limit buckets (and SMS dedupe) shared across instances',
    parsed((raw) => (/^rediss?:\/\//.test(raw) ? raw : bad('expected a redis:// or rediss:// URL'))).optional(),
    '– (per-process memory)',
  ),
  MAX_SESSION_SECONDS: variable(
    'Edge',
    'browser realtime sessions close politely after this many seconds (10..14400)',
    digits(10, 4 * 3600, 'whole seconds').default(DEFAULT_MAX_SESSION_SECONDS),
  ),

  // Operations
  DRAIN_SECONDS: variable(
    'Operations',
    'on SIGTERM/SIGINT, live calls get this long (0..3600 s) to finish before they are asked to wrap up',
    integer(0, 3600).default(300),
  ),
  METRICS_TOKEN: variable(
    'Operations',
    'bearer token for GET /metrics on the main port',
    text().optional(),
    '– (/metrics only on 127.0.0.1:METRICS_PORT)',
  ),
  METRICS_PORT: variable('Operations', 'loopback-only /metrics port', integer(0, 65535).default(9464)),

  // Receptionist tools
  DEFAULT_REGION: variable(
    'Receptionist tools',
    'country of phone numbers said or texted without a country code (ISO 3166 alpha-2)',
    region.default('US'),
  ),
  DEFAULT_MERCHANT_ID: variable(
    'Receptionist tools',
    'merchant for calls to numbers no merchant claims',
    text().optional(),
    '`demo` outside production',
  ),
  GOOGLE_CLIENT_ID: variable(
    'Receptionist tools',
    'Google OAuth client id; without it and the secret, bookings stay in the database only',
    text().optional(),
  ),
  GOOGLE_CLIENT_SECRET: variable('Receptionist tools', 'Google OAuth client secret', text().optional()),
  GOOGLE_API_ROOT_URL: variable(
    'Receptionist tools',
    'Google API address (tests, private deployments)',
    httpUrl.default(DEFAULT_GOOGLE_API_ROOT_URL),
  ),
  GOOGLE_OAUTH_TOKEN_URL: variable(
    'Receptionist tools',
    'Google OAuth token endpoint (tests, private deployments)',
    httpUrl.default(DEFAULT_GOOGLE_OAUTH_TOKEN_URL),
  ),
  GOOGLE_OAUTH_AUTH_URL: variable(
    'Receptionist tools',
    "Google's OAuth consent page the console's Connect Google Calendar button opens (tests, private deployments)",
    httpUrl.default(DEFAULT_GOOGLE_OAUTH_AUTH_URL),
  ),
  GOOGLE_OAUTH_REVOKE_URL: variable(
    'Receptionist tools',
    "Google's OAuth revocation endpoint, called when a merchant disconnects the calendar (tests, private deployments)",
    httpUrl.default(DEFAULT_GOOGLE_OAUTH_REVOKE_URL),
  ),

  // Storage
  DATA_DIR: variable(
    'Storage',
    'embedded PGlite database (DATA_DIR/pglite) and the call-record outbox (DATA_DIR/outbox)',
    text().default(DEFAULT_DATA_DIR),
  ),
  MERCHANT_FILES: variable(
    'Storage',
    'comma-separated merchant files (YAML/JSON) or folders of them, added or updated at every start',
    parsed((raw) => {
      const list = raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      return list.length > 0 ? list : bad('expected one or more paths separated by commas');
    }).optional(),
    '– (none)',
  ),
  DATABASE_URL: variable(
    'Storage',
    'a Postgres server (15+) instead of PGlite; migrations are applied at start-up',
    text().optional(),
  ),
  SUPABASE_URL: variable(
    'Storage',
    "Supabase project URL: the store goes through Supabase's REST API (with SUPABASE_SERVICE_ROLE_KEY)",
    text().optional(),
  ),
  SUPABASE_SERVICE_ROLE_KEY: variable('Storage', 'Supabase service-role key (with SUPABASE_URL)', text().optional()),

  // Development inspection
  INSPECT: variable(
    'Development inspection',
    '`1`: live statecharts via npm run inspect-server; `jsonl:<dir>`: one <callSid>.jsonl per call; not in production',
    inspectSwitch.default({ kind: 'off' }),
    'off',
  ),
  INSPECT_URL: variable(
    'Development inspection',
    'WebSocket of npm run inspect-server; loopback only',
    inspectUrl.default(DEFAULT_INSPECT_URL),
  ),
  INSPECT_CALLS: variable(
    'Development inspection',
    'comma-separated CallSids to inspect',
    parsed((raw) =>
      raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ).optional(),
    'every call',
  ),
  INSPECT_PORT: variable(
    'Development inspection',
    'port npm run inspect-server listens on, on 127.0.0.1 (its --port wins)',
    integer(1, 65535).default(8089),
  ),

  // SMS group chats
  TWILIO_ACCOUNT_SID: variable(
    'SMS group chats',
    'Twilio account (AC + 32 hex digits); setting it turns SMS group chats on',
    parsed((raw) => (/^AC[0-9a-fA-F]{32}$/.test(raw) ? raw : bad('expected AC followed by 32 hex digits'))).optional(),
    '– (SMS off)',
  ),
  TWILIO_PHONE_NUMBER: variable(
    'SMS group chats',
    'E.164 caller ID for calls placed by @call, and the sender of owner SMS; required for SMS',
    e164.optional(),
  ),
  BOT_IDENTITY: variable(
    'SMS group chats',
    "identity of the bot's chat participant (not `system`)",
    // 'system' is what Twilio writes for REST posts without an author: the bot could not tell its own apart.
    parsed((raw) =>
      raw.length <= 256 && raw !== 'system' ? raw : bad('must be at most 256 characters and not "system"'),
    ).default(DEFAULT_BOT_IDENTITY),
  ),
  BOT_PROJECTED_ADDRESS: variable(
    'SMS group chats',
    'the Twilio number the bot appears as in group MMS',
    e164.optional(),
    'TWILIO_PHONE_NUMBER',
  ),
  OPENAI_TEXT_MODEL: variable(
    'SMS group chats',
    'chat model of SMS replies (without OPENAI_API_KEY replies are labelled simulated)',
    text().default(DEFAULT_TEXT_MODEL),
  ),
  OPENAI_BASE_URL: variable(
    'SMS group chats',
    'OpenAI HTTP API base URL (tests, proxies)',
    httpBase.optional(),
    "OpenAI's",
  ),
  TWILIO_API_BASE_URL: variable(
    'SMS group chats',
    'every Twilio REST request goes here instead of Twilio hosts (tests, private deployments)',
    httpBase.optional(),
    "Twilio's hosts",
  ),
  MAX_NUMBERS_PER_COMMAND: variable(
    'SMS group chats',
    'more numbers than this in one @call or @group refuses the whole command (1..50)',
    digits(1, 50).default(DEFAULT_MAX_NUMBERS),
  ),

  // Console
  CONSOLE_TOKEN: variable(
    'Console',
    'operator sign-in token of the web console at /console (at least 24 characters); setting it turns the console on',
    parsed((raw) => (raw.length >= 24 ? raw : bad(`must be at least 24 characters (got ${raw.length})`))).optional(),
    '– (console off)',
  ),
} as const satisfies Record<string, EnvVar>;

export type EnvName = keyof typeof ENV_VARS;
export const ENV_NAMES = Object.keys(ENV_VARS) as EnvName[];
