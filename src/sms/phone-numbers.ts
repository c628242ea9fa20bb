import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

// Phone numbers as people type them in a text ("415 555 0100", "(415) 555-0101, +44 20 7946 0958")
// turned into E.164. What cannot be read is kept verbatim so it can be named back in the thread.

export interface NumberList {
  /** Valid numbers in E.164, first occurrence order, duplicates removed. */
  valid: string[];
  /** Entries that are not a valid number, as written (trimmed). */
  invalid: string[];
  /** How many entries were written (valid + invalid, duplicates included): what the cap counts. */
  written: number;
}

/** A valid number in E.164, or undefined. */
export function toE164(text: string, region: CountryCode): string | undefined {
  const p = parsePhoneNumberFromString(text.trim(), region);
  return p?.isValid() ? p.number : undefined;
}

/** North American numbers: the only ones Twilio group MMS can include. */
export function isNanp(e164: string): boolean {
  return e164.startsWith('+1');
}

const SEPARATORS = /[,;\n]+|\s+(?:and|&)\s+/i;
// A chunk of digits long enough to be a whole number on its own (not an area code or exchange).
const LONE_NUMBER = /^\+?[\d().-]{7,}$/;

/**
 * Splits "4155550100, 4155550101 and +1 212 555 0100" into entries and parses each. Entries are
 * separated by commas, semicolons, new lines or "and"; a chunk that is not one number but consists
 * of several whitespace-separated digit groups that each look like a full number ("4155550100
 * 4155550101") is split further, so forgetting the commas does not lose numbers.
 */
export function parseNumberList(text: string, region: CountryCode): NumberList {
  const entries: string[] = [];
  for (const raw of text.split(SEPARATORS)) {
    const chunk = raw.trim();
    if (chunk === '') continue;
    if (toE164(chunk, region) !== undefined) {
      entries.push(chunk);
      continue;
    }
    const parts = chunk.split(/\s+/);
    if (parts.length > 1 && parts.every((p) => LONE_NUMBER.test(p))) entries.push(...parts);
    else entries.push(chunk);
  }
  const valid: string[] = [];
  const invalid: string[] = [];
  for (const entry of entries) {
    const n = toE164(entry, region);
    if (n === undefined) invalid.push(entry);
    else if (!valid.includes(n)) valid.push(n);
  }
  return { valid, invalid, written: entries.length };
}
