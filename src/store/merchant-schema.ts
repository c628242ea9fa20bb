import { IANAZone } from 'luxon';
import { z } from 'zod';
import {
  EAGERNESS,
  NOISE_REDUCTIONS,
  OPENAI_REALTIME_MODELS,
  REASONING_EFFORTS,
  TURN_DETECTIONS,
  type RealtimeOptions,
} from '../providers/realtime-options.js';
import type { CallTransport } from '../merchants/merchant.js';
import type { MerchantInput } from './store.js';

// The merchant file an operator writes (YAML or JSON), validated field by field so a mistake is
// reported by name before anything reaches the database. Keys are the Merchant type's own names.

export const CALL_TRANSPORTS = ['media-streams', 'sip'] as const satisfies readonly CallTransport[];

/** Providers a sip merchant may name: OpenAI answers SIP calls (sim stands in for it in the no-keys demo). */
const SIP_PROVIDERS: readonly string[] = ['openai', 'sim'];

export const RECEPTIONIST_TOOLS = [
  'lookupCustomer',
  'checkAvailability',
  'createBooking',
  'cancelBooking',
  'takeMessage',
] as const;

const WEEKDAY: Record<string, string> = {
  '1': '1',
  mon: '1',
  monday: '1',
  '2': '2',
  tue: '2',
  tuesday: '2',
  '3': '3',
  wed: '3',
  wednesday: '3',
  '4': '4',
  thu: '4',
  thursday: '4',
  '5': '5',
  fri: '5',
  friday: '5',
  '6': '6',
  sat: '6',
  saturday: '6',
  '7': '7',
  sun: '7',
  sunday: '7',
};

const required = (what: string) => (iss: { input?: unknown }) =>
  iss.input === undefined ? 'is required' : `must be ${what}`;
const text = (what = 'text') => z.string({ error: required(what) });
const nonEmpty = (what = 'text') => text(what).trim().min(1, 'must not be empty');

const e164 = text('a phone number').regex(/^\+[1-9][0-9]{6,14}$/, 'must be an E.164 number such as +14155550123');

const RANGE = /^([01][0-9]|2[0-3]):([0-5][0-9])-(([01][0-9]|2[0-3]):([0-5][0-9])|24:00)$/;
const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const hoursRange = text('a time range').refine((r) => {
  if (!RANGE.test(r)) return false;
  const [from = '', to = ''] = r.split('-');
  return minutes(from) < minutes(to);
}, 'must be "HH:MM-HH:MM" (24-hour clock) with the start before the end, e.g. "09:00-17:00"');

const businessHours = z
  .record(z.string(), z.array(hoursRange, { error: required('a list of time ranges') }), {
    error: required('a map of weekday to time ranges'),
  })
  .superRefine((hours, ctx) => {
    for (const key of Object.keys(hours)) {
      if (WEEKDAY[key.toLowerCase()] === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'is not a weekday: use mon…sun or 1 (Monday)…7 (Sunday)',
        });
      }
    }
  })
  .transform((hours) => {
    const out: Record<string, string[]> = {};
    for (const [key, ranges] of Object.entries(hours)) {
      const day = WEEKDAY[key.toLowerCase()] ?? key;
      out[day] = [...(out[day] ?? []), ...ranges].sort();
    }
    return out;
  });

const DEFAULT_HOURS = {
  '1': ['09:00-17:00'],
  '2': ['09:00-17:00'],
  '3': ['09:00-17:00'],
  '4': ['09:00-17:00'],
  '5': ['09:00-17:00'],
};

export const MERCHANT_FILE_FIELDS = [
  'id',
  'name',
  'timeZone',
  'phoneNumbers',
  'provider',
  'transport',
  'voice',
  'realtime',
  'instructions',
  'greeting',
  'outboundGreeting',
  'voicemailTemplate',
  'greetingInterruptible',
  'slotMinutes',
  'businessHours',
  'tools',
  'googleCalendarId',
  'googleRefreshToken',
  'transferTargets',
  'ownerNotifications',
  'postCallWebhook',
  'recording',
] as const;

const fieldsError =
  (allowed: readonly string[]) =>
  (iss: { code: string; input?: unknown }): string =>
    iss.code === 'unrecognized_keys'
      ? `unknown field (allowed: ${allowed.join(', ')})`
      : iss.input === undefined
        ? 'is required'
        : 'must be a mapping of fields';

const transferTarget = z.strictObject(
  {
    name: nonEmpty('a name').max(80, 'must be at most 80 characters'),
    number: e164,
    handles: nonEmpty('what they handle, in a few words').max(300, 'must be at most 300 characters'),
    hours: businessHours,
  },
  { error: fieldsError(['name', 'number', 'handles', 'hours']) },
);

const transferTargets = z
  .array(transferTarget, { error: required('a list of people to put callers through to') })
  .superRefine((targets, ctx) => {
    const seen = new Set<string>();
    targets.forEach((t, i) => {
      const key = t.name.toLowerCase();
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: 'is used by another target' });
      seen.add(key);
    });
  });

const ownerNotifications = z.strictObject(
  {
    number: e164,
    showCallerNumber: z.boolean({ error: 'must be true or false' }).default(false),
  },
  { error: fieldsError(['number', 'showCallerNumber']) },
);

const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(', ')}` });

const REALTIME_FIELDS = ['model', 'reasoningEffort', 'noiseReduction', 'turnDetection', 'eagerness', 'truncation'];

/** A merchant's OpenAI session choices; each refusal names the valid values. Also reads stored rows. */
export const realtimeOptions = z
  .strictObject(
    {
      model: oneOf(OPENAI_REALTIME_MODELS).optional(),
      reasoningEffort: oneOf(REASONING_EFFORTS).optional(),
      noiseReduction: oneOf(NOISE_REDUCTIONS).optional(),
      turnDetection: oneOf(TURN_DETECTIONS).optional(),
      eagerness: oneOf(EAGERNESS).optional(),
      truncation: z
        .union([z.enum(['auto', 'disabled']), z.number().gt(0).max(1)], {
          error: 'must be auto, disabled, or a retention ratio above 0 and at most 1 (e.g. 0.8)',
        })
        .optional(),
    },
    { error: fieldsError(REALTIME_FIELDS) },
  )
  .superRefine((o, ctx) => {
    if (o.eagerness !== undefined && o.turnDetection !== 'semantic_vad')
      ctx.addIssue({ code: 'custom', path: ['eagerness'], message: 'applies to turnDetection semantic_vad only' });
    const model = o.model ?? '';
    if (o.reasoningEffort !== undefined && o.model !== undefined && !/^gpt-realtime-2/.test(model))
      ctx.addIssue({
        code: 'custom',
        path: ['reasoningEffort'],
        message: `is not available on ${model} (only gpt-realtime-2 and later)`,
      });
  })
  .transform((o): RealtimeOptions => {
    const out: RealtimeOptions = {};
    for (const [k, v] of Object.entries(o)) if (v !== undefined) Object.assign(out, { [k]: v });
    return out;
  });

/** Standard Webhooks secret: `whsec_` and base64 of 24 to 64 random bytes. */
const WEBHOOK_SECRET = /^whsec_([A-Za-z0-9+/]+={0,2})$/;
const webhookSecret = text('a secret').refine((v) => {
  const m = WEBHOOK_SECRET.exec(v);
  if (!m?.[1]) return false;
  const bytes = Buffer.from(m[1], 'base64').length;
  return bytes >= 24 && bytes <= 64;
}, 'must be a Standard Webhooks secret: whsec_ followed by base64 of 24 to 64 random bytes (openssl rand -base64 32)');

const httpsUrl = text('a URL').refine((v) => {
  try {
    const u = new URL(v);
    return u.protocol === 'https:' && u.hostname !== '' && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}, 'must be an https:// URL without credentials in it');

const postCallWebhook = z.strictObject(
  { url: httpsUrl, secret: webhookSecret },
  { error: fieldsError(['url', 'secret']) },
);

const recording = z.strictObject(
  {
    notice: nonEmpty('one sentence').max(300, 'must be at most 300 characters'),
  },
  { error: fieldsError(['notice']) },
);

export const merchantFileSchema = z
  .strictObject(
    {
      id: text('an id').regex(
        /^[a-z0-9][a-z0-9_-]{0,62}$/,
        'must be lowercase letters, digits, "-" or "_", e.g. sunny-side-dental',
      ),
      name: nonEmpty('the business name'),
      timeZone: text('a time zone').refine(
        (tz) => IANAZone.isValidZone(tz),
        'must be an IANA time zone such as Europe/London or America/New_York',
      ),
      phoneNumbers: z
        .array(e164, { error: required('a list of phone numbers') })
        .min(1, 'must list at least one number'),
      provider: z
        .enum(['openai', 'openai-live', 'xai', 'sim'], { error: 'must be one of openai, openai-live, xai, sim' })
        .optional(),
      transport: oneOf(CALL_TRANSPORTS).optional(),
      voice: nonEmpty('a voice name').optional(),
      realtime: realtimeOptions.optional(),
      instructions: text().default(''),
      greeting: nonEmpty().optional(),
      outboundGreeting: nonEmpty().optional(),
      voicemailTemplate: nonEmpty().optional(),
      greetingInterruptible: z.boolean({ error: 'must be true or false' }).default(true),
      slotMinutes: z
        .number({ error: 'must be a number of minutes' })
        .int('must be whole minutes')
        .min(5, 'must be at least 5')
        .max(480, 'must be at most 480')
        .default(30),
      businessHours: businessHours.default(DEFAULT_HOURS),
      tools: z
        .array(z.enum(RECEPTIONIST_TOOLS, { error: `is not a known tool (known: ${RECEPTIONIST_TOOLS.join(', ')})` }), {
          error: required('a list of tool names'),
        })
        .default([...RECEPTIONIST_TOOLS]),
      googleCalendarId: nonEmpty('a calendar id').nullable().optional(),
      /** Written only when present: leave it out after the first apply so a rotated token is kept. */
      googleRefreshToken: nonEmpty('a token').optional(),
      transferTargets: transferTargets.optional(),
      ownerNotifications: ownerNotifications.optional(),
      postCallWebhook: postCallWebhook.optional(),
      recording: recording.optional(),
    },
    {
      error: (iss) =>
        iss.code === 'unrecognized_keys'
          ? `unknown field (allowed: ${MERCHANT_FILE_FIELDS.join(', ')})`
          : 'must be a mapping of fields',
    },
  )
  .superRefine((f, ctx) => {
    if (f.transport === 'sip' && f.provider !== undefined && !SIP_PROVIDERS.includes(f.provider))
      ctx.addIssue({
        code: 'custom',
        path: ['transport'],
        message: `sip calls are OpenAI's: provider must be openai (or sim, or left out), not ${f.provider}`,
      });
    // Realtime session options exist on OpenAI Realtime only: GPT-Live and xAI have none of them.
    if (f.realtime !== undefined && (f.provider === 'openai-live' || f.provider === 'xai'))
      ctx.addIssue({
        code: 'custom',
        path: ['realtime'],
        message: `applies to provider openai only (this merchant's provider is ${f.provider})`,
      });
  })
  .transform((f): MerchantInput => {
    const m: MerchantInput = {
      id: f.id,
      name: f.name,
      timeZone: f.timeZone,
      phoneNumbers: [...new Set(f.phoneNumbers)],
      instructions: f.instructions,
      greeting: f.greeting ?? `Thank you for calling ${f.name}. How can I help you today?`,
      outboundGreeting: f.outboundGreeting ?? `Hello, this is the virtual receptionist calling from ${f.name}.`,
      voicemailTemplate:
        f.voicemailTemplate ??
        'Hello, this is {business}. Sorry we missed you. Please call us back when you can. Goodbye.',
      greetingInterruptible: f.greetingInterruptible,
      slotMinutes: f.slotMinutes,
      businessHours: f.businessHours,
      tools: [...new Set(f.tools)],
    };
    if (f.provider !== undefined) m.provider = f.provider;
    // media-streams is the default and is stored as such: only sip is carried, as rows read it back.
    if (f.transport === 'sip') m.transport = f.transport;
    if (f.voice !== undefined) m.voice = f.voice;
    if (f.realtime !== undefined && Object.keys(f.realtime).length > 0) m.realtime = f.realtime;
    if (f.googleCalendarId !== undefined) m.googleCalendarId = f.googleCalendarId;
    if (f.googleRefreshToken !== undefined) m.googleTokens = { refreshToken: f.googleRefreshToken };
    if (f.transferTargets !== undefined && f.transferTargets.length > 0) m.transferTargets = f.transferTargets;
    if (f.ownerNotifications !== undefined) m.ownerNotifications = f.ownerNotifications;
    if (f.postCallWebhook !== undefined) m.postCallWebhook = f.postCallWebhook;
    if (f.recording !== undefined) m.recording = f.recording;
    return m;
  });

export type MerchantFileResult = { ok: true; merchant: MerchantInput } | { ok: false; problems: string[] };

function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

/** Validates parsed YAML/JSON; problems read "field.path: what is wrong". */
export function parseMerchantFile(data: unknown): MerchantFileResult {
  const r = merchantFileSchema.safeParse(data);
  if (r.success) return { ok: true, merchant: r.data };
  const problems = r.error.issues.flatMap((iss) => {
    if (iss.code === 'unrecognized_keys') return iss.keys.map((k) => `${pathText([...iss.path, k])}: ${iss.message}`);
    return [`${pathText(iss.path) || '(file)'}: ${iss.message}`];
  });
  return { ok: false, problems };
}
