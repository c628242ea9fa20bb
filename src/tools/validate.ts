import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import { readEnv, type EnvSource } from '../config.js';

// Argument checking shared by the tools. Messages are written for the model, which reads them and
// asks the caller again: they name the field and say what a good value looks like.

/** The model's arguments are unusable; the message says which and how to fix them. */
export class InvalidArguments extends Error {
  override readonly name = 'InvalidArguments';
}

/** zod issues → one sentence per problem, each naming its field. */
export function describeIssues(issues: ReadonlyArray<z.core.$ZodIssue>): string {
  return issues
    .map((i) => {
      const path = i.path.map(String).join('.');
      if (!path) return 'arguments must be a JSON object with the fields in the tool schema';
      return i.message.startsWith(path) ? i.message : `${path}: ${i.message}`;
    })
    .join('; ');
}

/** A required or optional text field whose messages say what to ask the caller. */
export function textField(field: string, opts: { max: number; ask: string; description: string }) {
  return z
    .string({
      error: (i) => (i.input === undefined ? `${field} is required: ${opts.ask}` : `${field} must be a string`),
    })
    .trim()
    .min(1, `${field} is empty: ${opts.ask}`)
    .max(opts.max, `${field} is too long (at most ${opts.max} characters)`)
    .describe(opts.description);
}

export const dayDescription = 'YYYY-MM-DD, or "today", "tomorrow" or a weekday name like "tuesday".';
export const timeDescription = 'Time of day, 24-hour HH:MM like "15:00" (spoken forms like "3pm" also work).';
export const phoneDescription =
  "Caller's phone number with country code if they gave one. Leave out to use the number they are calling from.";

export const phoneField = z
  .string({ error: 'phone must be a string' })
  .trim()
  .max(40, 'phone is too long')
  .optional()
  .describe(phoneDescription);

/** E.164 for a number as a caller might say it ("020 7946 0018", "+1 (415) 555-0100"), or null. */
export function toE164(raw: string | undefined | null, region: CountryCode): string | null {
  if (!raw) return null;
  const p = parsePhoneNumberFromString(raw.trim(), region);
  return p?.isValid() ? p.number : null;
}

/**
 * The number a tool works on: the one the model passed (which must be valid), else the caller's own.
 * Null only when neither exists.
 */
export function phoneFor(
  arg: string | undefined,
  env: { callerPhone: string | undefined; region: CountryCode },
): string | null {
  if (arg !== undefined && arg !== '') {
    const e164 = toE164(arg, env.region);
    if (!e164) {
      throw new InvalidArguments(
        `phone "${arg}" is not a valid phone number: ask the caller to repeat it, ` +
          `with the country code if it is not a ${env.region} number`,
      );
    }
    return e164;
  }
  return env.callerPhone ?? null;
}

/** DEFAULT_REGION: the country a number without a country code belongs to (ISO 3166 alpha-2). Default US. */
export function defaultRegionFromEnv(env: EnvSource): CountryCode {
  return readEnv(env, (r) => r.get('DEFAULT_REGION'));
}
