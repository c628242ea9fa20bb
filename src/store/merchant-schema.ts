import { IANAZone } from 'luxon';
import { z } from 'zod';
import type { MerchantInput } from './store.js';

// The merchant file an operator writes (YAML or JSON), validated field by field so a mistake is
// reported by name before anything reaches the database. Keys are the Merchant type's own names.

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
  'voice',
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
] as const;

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
      provider: z.enum(['openai', 'xai', 'sim'], { error: 'must be one of openai, xai, sim' }).optional(),
      voice: nonEmpty('a voice name').optional(),
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
    },
    {
      error: (iss) =>
        iss.code === 'unrecognized_keys'
          ? `unknown field (allowed: ${MERCHANT_FILE_FIELDS.join(', ')})`
          : 'must be a mapping of fields',
    },
  )
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
    if (f.voice !== undefined) m.voice = f.voice;
    if (f.googleCalendarId !== undefined) m.googleCalendarId = f.googleCalendarId;
    if (f.googleRefreshToken !== undefined) m.googleTokens = { refreshToken: f.googleRefreshToken };
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
