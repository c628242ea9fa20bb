import type { CountryCode } from 'libphonenumber-js';
import { isNanp, parseNumberList } from './phone-numbers.js';

// What a text in the thread asks the bot to do. `@call` and `@group` take a list of numbers;
// `@ai` addresses the bot in a group; anything else is chat (answered in one-to-one threads only).
// Refusals carry their reply here so the statechart only routes and never composes text.

export type SmsCommand =
  | { kind: 'call'; numbers: string[]; invalid: string[] }
  /** `unsupported`: valid numbers outside +1, which group MMS cannot include. */
  | { kind: 'group'; numbers: string[]; invalid: string[]; unsupported: string[] }
  | { kind: 'refuse'; reply: string }
  | { kind: 'chat'; mentionsAi: boolean }
  /** No text at all (e.g. a picture): nothing to answer. */
  | { kind: 'none' };

export interface CommandOptions {
  region: CountryCode;
  maxNumbers: number;
}

const COMMAND = /(?:^|\s)@(call|group)\b([\s\S]*)$/i;
const AI_MENTION = /(?:^|[^\w@])@ai\b/i;

/** "a", "a and b", "a, b and c". */
export function joinList(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1) ?? ''}`;
}

const quoted = (items: readonly string[]) =>
  joinList(items.map((s) => `"${s.length > 40 ? `${s.slice(0, 39)}…` : s}"`));

/** The sentence naming entries that are not phone numbers, or ''. */
export function invalidSentence(invalid: readonly string[]): string {
  if (invalid.length === 0) return '';
  return invalid.length === 1
    ? `I couldn't read ${quoted(invalid)} as a phone number, so I skipped it.`
    : `I couldn't read ${quoted(invalid)} as phone numbers, so I skipped them.`;
}

export function parseCommand(body: string, opts: CommandOptions): SmsCommand {
  const text = body.trim();
  if (text === '') return { kind: 'none' };
  const m = COMMAND.exec(text);
  if (!m) return { kind: 'chat', mentionsAi: AI_MENTION.test(text) };
  const verb = (m[1] ?? '').toLowerCase() === 'call' ? 'call' : 'group';
  const list = parseNumberList(m[2] ?? '', opts.region);
  const nothingDone = verb === 'call' ? 'Nothing was dialled.' : 'No group was created.';
  if (list.written === 0) {
    return {
      kind: 'refuse',
      reply: `To use @${verb}, list the numbers after it, e.g. "@${verb} 415 555 0100, 415 555 0101".`,
    };
  }
  if (list.written > opts.maxNumbers) {
    return {
      kind: 'refuse',
      reply:
        `That's ${list.written} numbers; I can take at most ${opts.maxNumbers} per message, so I ` +
        `didn't do anything. ${nothingDone} Please send fewer numbers.`,
    };
  }
  if (verb === 'call') {
    if (list.valid.length === 0) return { kind: 'refuse', reply: `${invalidSentence(list.invalid)} ${nothingDone}` };
    return { kind: 'call', numbers: list.valid, invalid: list.invalid };
  }
  const numbers = list.valid.filter(isNanp);
  const unsupported = list.valid.filter((n) => !isNanp(n));
  if (numbers.length === 0) {
    const why = [invalidSentence(list.invalid), unsupportedSentence(unsupported)].filter((s) => s !== '').join(' ');
    return { kind: 'refuse', reply: `${why} ${nothingDone}` };
  }
  return { kind: 'group', numbers, invalid: list.invalid, unsupported };
}

/** The sentence naming numbers group texting cannot include, or ''. */
export function unsupportedSentence(unsupported: readonly string[]): string {
  if (unsupported.length === 0) return '';
  return `Group texts only work with US and Canadian (+1) numbers, so I left out ${joinList(unsupported)}.`;
}
