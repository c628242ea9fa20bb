import type { RealtimeOptions } from '../providers/realtime-options.js';

// A merchant is the business whose phone line the relay answers. The call core reads only these
// fields; storage (issue 3) persists them in the `merchants` table.

/** `openai-live`: OpenAI's GPT-Live, a separate full-duplex API (src/providers/live-connection.ts). */
export type ProviderName = 'openai' | 'openai-live' | 'xai' | 'sim';

/**
 * How a merchant's calls reach the model: through the relay as a Twilio Media Stream, or over SIP
 * straight to OpenAI with the relay controlling the call from the side (no audio through it).
 */
export type CallTransport = 'media-streams' | 'sip';

export interface BusinessHours {
  /** ISO weekday 1 (Mon) … 7 (Sun) → list of "HH:MM-HH:MM" ranges in the merchant's time zone. */
  [weekday: string]: string[];
}

/** A person the assistant can put a caller through to. */
export interface TransferTarget {
  /** How the model and the caller know them ("Dr Patel"). */
  name: string;
  /** E.164; never shown to the model. */
  number: string;
  /** What they handle, for the model to choose ("emergencies and treatment questions"). */
  handles: string;
  /** When they take calls, in the merchant's time zone; a weekday that is absent means not that day. */
  hours: BusinessHours;
}

/** SMS to the owner about what happened on the line (urgent messages, bookings, failed transfers). */
export interface OwnerNotifications {
  /** E.164 number the SMS go to. */
  number: string;
  /** Opt-in: show callers' numbers in full (masked otherwise). */
  showCallerNumber: boolean;
}

/** One POST per finished call, signed with the Standard Webhooks scheme. */
export interface PostCallWebhook {
  /** https only. */
  url: string;
  /** Standard Webhooks secret (`whsec_` + base64). */
  secret: string;
}

/** Opt-in call recording through Twilio; the greeting says so. */
export interface CallRecording {
  /** One sentence said before the greeting, e.g. "This call is recorded for quality." */
  notice: string;
}

export interface Merchant {
  id: string;
  name: string;
  /** IANA zone, e.g. Europe/London. */
  timeZone: string;
  /** E.164 numbers that ring this merchant (matched against Twilio's `To`). */
  phoneNumbers: string[];
  /** Overrides the PROVIDER default when set. */
  provider?: ProviderName;
  /** Absent: media-streams. `sip` needs provider openai (OpenAI answers the SIP call). */
  transport?: CallTransport;
  voice?: string;
  /** OpenAI session choices (model, reasoning effort, noise reduction, VAD, truncation); OpenAI only. */
  realtime?: RealtimeOptions;
  instructions: string;
  /** What the assistant says first on an inbound call. */
  greeting: string;
  /** Opening line on an outbound call (placed by @call). */
  outboundGreeting: string;
  /** Spoken when a machine answered; `{business}` is replaced by the merchant name. */
  voicemailTemplate: string;
  /** Whether the caller can talk over the greeting and stop it. */
  greetingInterruptible: boolean;
  slotMinutes: number;
  businessHours: BusinessHours;
  /** Tool names the model may call on this merchant's calls. */
  tools: string[];
  /** People a caller can be put through to (the transferCall tool); none: no transfers. */
  transferTargets?: TransferTarget[];
  ownerNotifications?: OwnerNotifications;
  postCallWebhook?: PostCallWebhook;
  /** Set: calls are recorded (dual channel) and the caller is told. */
  recording?: CallRecording;
}
