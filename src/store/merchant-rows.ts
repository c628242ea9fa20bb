import { z } from 'zod';
import { CALL_TRANSPORTS, realtimeOptions } from './merchant-schema.js';
import type { JsonObject } from './call-record.js';
import { nullableDate } from './row-dates.js';
import type { MerchantInput, MerchantRecord } from './store.js';

// A merchants row (merchant_profiles, with its numbers) read into a MerchantRecord, and a merchant
// written back as the columns the SQL function upsert_merchant takes.

const merchantRow = z.object({
  id: z.string(),
  business_name: z.string(),
  time_zone: z.string(),
  provider: z.enum(['openai', 'openai-live', 'xai', 'sim']).nullable(),
  voice: z.string().nullable(),
  instructions: z.string(),
  greeting: z.string(),
  outbound_greeting: z.string(),
  voicemail_template: z.string(),
  greeting_interruptible: z.boolean(),
  slot_minutes: z.number().int(),
  business_hours: z.record(z.string(), z.array(z.string())),
  tools: z.array(z.string()),
  google_calendar_id: z.string().nullable(),
  google_refresh_token: z.string().nullable(),
  google_access_token: z.string().nullable(),
  google_token_expires_at: nullableDate,
  phone_numbers: z.array(z.string()),
  // Version 0003; absent in rows from a database that has not been migrated to it yet.
  transfer_targets: z
    .array(
      z.object({
        name: z.string(),
        number: z.string(),
        handles: z.string(),
        hours: z.record(z.string(), z.array(z.string())),
      }),
    )
    .nullish(),
  owner_sms_number: z.string().nullish(),
  owner_sms_show_caller: z.boolean().nullish(),
  webhook_url: z.string().nullish(),
  webhook_secret: z.string().nullish(),
  recording_notice: z.string().nullish(),
  // Version 0004.
  realtime_options: realtimeOptions.nullish(),
  // Version 0006.
  transport: z.enum(CALL_TRANSPORTS).nullish(),
});

export function toMerchant(row: unknown): MerchantRecord {
  const r = merchantRow.parse(row);
  const m: MerchantRecord = {
    id: r.id,
    name: r.business_name,
    timeZone: r.time_zone,
    phoneNumbers: r.phone_numbers,
    instructions: r.instructions,
    greeting: r.greeting,
    outboundGreeting: r.outbound_greeting,
    voicemailTemplate: r.voicemail_template,
    greetingInterruptible: r.greeting_interruptible,
    slotMinutes: r.slot_minutes,
    businessHours: r.business_hours,
    tools: r.tools,
    googleCalendarId: r.google_calendar_id,
    googleTokens: {
      refreshToken: r.google_refresh_token,
      accessToken: r.google_access_token,
      expiresAt: r.google_token_expires_at,
    },
  };
  // Optional overrides stay absent rather than undefined-valued, as in a hand-written Merchant.
  if (r.provider !== null) m.provider = r.provider;
  if (r.voice !== null) m.voice = r.voice;
  if (r.transfer_targets && r.transfer_targets.length > 0) m.transferTargets = r.transfer_targets;
  if (r.owner_sms_number)
    m.ownerNotifications = { number: r.owner_sms_number, showCallerNumber: r.owner_sms_show_caller ?? false };
  if (r.webhook_url && r.webhook_secret) m.postCallWebhook = { url: r.webhook_url, secret: r.webhook_secret };
  if (r.recording_notice) m.recording = { notice: r.recording_notice };
  if (r.realtime_options && Object.keys(r.realtime_options).length > 0) m.realtime = r.realtime_options;
  // The default stays implicit, as in the merchant file: only a sip merchant carries the field.
  if (r.transport === 'sip') m.transport = r.transport;
  return m;
}

/** The jsonb argument of the SQL function upsert_merchant; calendar keys only when given. */
export function merchantToJson(m: MerchantInput): JsonObject {
  const j: JsonObject = {
    id: m.id,
    business_name: m.name,
    time_zone: m.timeZone,
    phone_numbers: [...new Set(m.phoneNumbers)],
    provider: m.provider ?? null,
    voice: m.voice ?? null,
    instructions: m.instructions,
    greeting: m.greeting,
    outbound_greeting: m.outboundGreeting,
    voicemail_template: m.voicemailTemplate,
    greeting_interruptible: m.greetingInterruptible,
    slot_minutes: m.slotMinutes,
    business_hours: m.businessHours,
    tools: m.tools,
    transfer_targets: (m.transferTargets ?? []).map((t) => ({
      name: t.name,
      number: t.number,
      handles: t.handles,
      hours: t.hours,
    })),
    owner_sms_number: m.ownerNotifications?.number ?? null,
    owner_sms_show_caller: m.ownerNotifications?.showCallerNumber ?? false,
    webhook_url: m.postCallWebhook?.url ?? null,
    webhook_secret: m.postCallWebhook?.secret ?? null,
    recording_notice: m.recording?.notice ?? null,
    realtime_options: m.realtime ? { ...m.realtime } : null,
    transport: m.transport ?? 'media-streams',
  };
  if (m.googleCalendarId !== undefined) j.google_calendar_id = m.googleCalendarId;
  Object.assign(j, tokenColumns(m.googleTokens ?? {}));
  return j;
}

/** Token columns for the keys present; expiry as ISO text (valid for both jsonb and PostgREST). */
export function tokenColumns(t: {
  refreshToken?: string | null;
  accessToken?: string | null;
  expiresAt?: Date | null;
}): JsonObject {
  const j: JsonObject = {};
  if (t.refreshToken !== undefined) j.google_refresh_token = t.refreshToken;
  if (t.accessToken !== undefined) j.google_access_token = t.accessToken;
  if (t.expiresAt !== undefined) j.google_token_expires_at = t.expiresAt === null ? null : t.expiresAt.toISOString();
  return j;
}
