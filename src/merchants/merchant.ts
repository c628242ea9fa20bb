// A merchant is the business whose phone line the relay answers. The call core reads only these
// fields; storage (issue 3) persists them in the `merchants` table.

export type ProviderName = 'openai' | 'xai' | 'sim';

export interface BusinessHours {
  /** ISO weekday 1 (Mon) … 7 (Sun) → list of "HH:MM-HH:MM" ranges in the merchant's time zone. */
  [weekday: string]: string[];
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
  voice?: string;
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
}
