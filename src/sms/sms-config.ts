import { isSupportedCountry, type CountryCode } from 'libphonenumber-js';
import { ConfigError } from '../config.js';

// Settings of the SMS group-chat feature (issue 5), read once at start-up. SMS is off unless
// TWILIO_ACCOUNT_SID is set; once it is, everything it needs must be valid or start-up stops with a
// ConfigError naming the variable (a half-configured bot that fails on the first message is worse).

type Env = Record<string, string | undefined>;

export interface SmsConfig {
  accountSid: string;
  /** REST credentials (Basic auth AccountSid:AuthToken); also signs the webhooks (edge config). */
  authToken: string;
  /** E.164 caller ID for calls placed by @call. */
  phoneNumber: string;
  /** Identity of the bot's chat participant; messages it authors never trigger a reply. */
  botIdentity: string;
  /** The Twilio number the bot appears as in group MMS (messagingBinding.projectedAddress). */
  botProjectedAddress: string;
  openai: {
    /** Unset: replies are clearly labelled simulated answers. */
    apiKey: string | undefined;
    /** For tests and proxies, e.g. http://127.0.0.1:4010/v1. */
    baseUrl: string | undefined;
    textModel: string;
  };
  /** Every Twilio REST request goes here instead of *.twilio.com (tests, private deployments). */
  twilioApiBaseUrl: string | undefined;
  /** Region for numbers written without a country code (ISO 3166 alpha-2). */
  defaultRegion: CountryCode;
  /** More numbers than this in one @call/@group refuses the whole command. */
  maxNumbersPerCommand: number;
}

export const DEFAULT_BOT_IDENTITY = 'gateframes-bot';
export const DEFAULT_BOT_PROJECTED_ADDRESS = '+14082605145';
export const DEFAULT_TEXT_MODEL = 'gpt-4.1-mini';
export const DEFAULT_MAX_NUMBERS = 5;
const MAX_NUMBERS_LIMIT = 50;

const E164 = /^\+[1-9]\d{6,14}$/;

function read(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function required(env: Env, name: string): string {
  const v = read(env, name);
  if (v === undefined) throw new ConfigError(name, 'is required for SMS (TWILIO_ACCOUNT_SID is set)');
  return v;
}

function e164(name: string, value: string): string {
  if (!E164.test(value))
    throw new ConfigError(name, `expected an E.164 number like +14155550100, got ${JSON.stringify(value)}`);
  return value;
}

function httpUrl(env: Env, name: string): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `expected an http(s) URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(name, `expected an http(s) URL, got ${JSON.stringify(raw)}`);
  if (url.search !== '' || url.hash !== '') throw new ConfigError(name, 'must not carry a query string or fragment');
  return raw.replace(/\/+$/, '');
}

/** True when SMS is configured at all (TWILIO_ACCOUNT_SID set). */
export function smsEnabled(env: Env = process.env): boolean {
  return read(env, 'TWILIO_ACCOUNT_SID') !== undefined;
}

/** The SMS settings, or null when SMS is off (TWILIO_ACCOUNT_SID unset). Throws ConfigError on a bad value. */
export function loadSmsConfig(env: Env = process.env): SmsConfig | null {
  const accountSid = read(env, 'TWILIO_ACCOUNT_SID');
  if (accountSid === undefined) return null;
  if (!/^AC[0-9a-fA-F]{32}$/.test(accountSid))
    throw new ConfigError('TWILIO_ACCOUNT_SID', 'expected AC followed by 32 hex digits');
  const authToken = required(env, 'TWILIO_AUTH_TOKEN');
  const phoneNumber = e164('TWILIO_PHONE_NUMBER', required(env, 'TWILIO_PHONE_NUMBER'));

  const botIdentity = read(env, 'BOT_IDENTITY') ?? DEFAULT_BOT_IDENTITY;
  // 'system' is what Twilio writes for REST posts without an author; a bot by that name could not tell its own messages apart.
  if (botIdentity.length > 256 || botIdentity === 'system')
    throw new ConfigError('BOT_IDENTITY', 'must be at most 256 characters and not "system"');
  const botProjectedAddress = e164(
    'BOT_PROJECTED_ADDRESS',
    read(env, 'BOT_PROJECTED_ADDRESS') ?? DEFAULT_BOT_PROJECTED_ADDRESS,
  );

  const region = (read(env, 'DEFAULT_REGION') ?? 'US').toUpperCase();
  if (!isSupportedCountry(region))
    throw new ConfigError(
      'DEFAULT_REGION',
      `unknown region ${JSON.stringify(region)} (expected an ISO country code like US or GB)`,
    );

  const maxRaw = read(env, 'MAX_NUMBERS_PER_COMMAND');
  let maxNumbersPerCommand = DEFAULT_MAX_NUMBERS;
  if (maxRaw !== undefined) {
    const n = Number(maxRaw);
    if (!/^\d+$/.test(maxRaw) || n < 1 || n > MAX_NUMBERS_LIMIT) {
      throw new ConfigError(
        'MAX_NUMBERS_PER_COMMAND',
        `expected a whole number in 1..${MAX_NUMBERS_LIMIT}, got ${JSON.stringify(maxRaw)}`,
      );
    }
    maxNumbersPerCommand = n;
  }

  return {
    accountSid,
    authToken,
    phoneNumber,
    botIdentity,
    botProjectedAddress,
    openai: {
      apiKey: read(env, 'OPENAI_API_KEY'),
      baseUrl: httpUrl(env, 'OPENAI_BASE_URL'),
      textModel: read(env, 'OPENAI_TEXT_MODEL') ?? DEFAULT_TEXT_MODEL,
    },
    twilioApiBaseUrl: httpUrl(env, 'TWILIO_API_BASE_URL'),
    defaultRegion: region,
    maxNumbersPerCommand,
  };
}
