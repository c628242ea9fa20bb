import type { CountryCode } from 'libphonenumber-js';
import { readEnv, type EnvSource } from '../config.js';

// Settings of the SMS group-chat feature (issue 5), read once at start-up. SMS is off unless
// TWILIO_ACCOUNT_SID is set; once it is, everything it needs must be valid or start-up stops with a
// ConfigError naming the variable (a half-configured bot that fails on the first message is worse).

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

export {
  DEFAULT_BOT_IDENTITY,
  DEFAULT_MAX_NUMBERS,
  DEFAULT_TEXT_MODEL,
} from '../config/env-schema.js';

const REQUIRED = 'is required for SMS (TWILIO_ACCOUNT_SID is set)';

/** True when SMS is configured at all (TWILIO_ACCOUNT_SID set). */
export function smsEnabled(env: EnvSource): boolean {
  return readEnv(env, (r) => r.isSet('TWILIO_ACCOUNT_SID'));
}

/** The SMS settings, or null when SMS is off (TWILIO_ACCOUNT_SID unset). Throws ConfigError on a bad value. */
export function loadSmsConfig(env: EnvSource): SmsConfig | null {
  return readEnv(env, (r) => {
    if (!r.isSet('TWILIO_ACCOUNT_SID')) return null;
    // An empty string stands in only for a value whose problem is already recorded (and reported).
    const accountSid = r.get('TWILIO_ACCOUNT_SID') ?? '';
    const authToken = r.get('TWILIO_AUTH_TOKEN');
    if (authToken === undefined) r.problem('TWILIO_AUTH_TOKEN', REQUIRED);
    const phoneNumber = r.get('TWILIO_PHONE_NUMBER');
    if (phoneNumber === undefined) r.problem('TWILIO_PHONE_NUMBER', REQUIRED);
    return {
      accountSid,
      authToken: authToken ?? '',
      phoneNumber: phoneNumber ?? '',
      botIdentity: r.get('BOT_IDENTITY'),
      // The relay's own number unless the bot should appear as another one.
      botProjectedAddress: r.get('BOT_PROJECTED_ADDRESS') ?? phoneNumber ?? '',
      openai: {
        apiKey: r.get('OPENAI_API_KEY'),
        baseUrl: r.get('OPENAI_BASE_URL'),
        textModel: r.get('OPENAI_TEXT_MODEL'),
      },
      twilioApiBaseUrl: r.get('TWILIO_API_BASE_URL'),
      defaultRegion: r.get('DEFAULT_REGION'),
      maxNumbersPerCommand: r.get('MAX_NUMBERS_PER_COMMAND'),
    };
  });
}
