import type { CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import type { CalendarClient } from '../calendar/calendar.js';
import type { Logger } from '../log.js';
import type { Merchant } from '../merchants/merchant.js';
import type { OwnerEvent } from '../notify/owner-events.js';
import type { FunctionCall, ToolOutput } from '../../machines/call.types.js';
import type { Store } from '../store/store.js';
import { InvalidArguments, describeIssues } from './validate.js';

// The shape every receptionist tool shares: one zod schema that both validates the model's
// arguments and becomes the JSON schema the model is shown, so the two cannot drift apart.

/** A tool as the model is shown it (session.update `tools`): a name, when to use it, a JSON schema. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** What a call knows that a tool may need. */
export interface ToolCallContext {
  merchant: Merchant;
  callSid: string;
  callerPhone?: string;
}

/** Runs one of the model's function calls for a call. See run-safely.ts for the rule it keeps. */
export type ToolExecutor = (call: FunctionCall, ctx: ToolCallContext) => Promise<ToolOutput>;

/** What one tool run sees. Everything time-related uses `now` and the merchant's zone. */
export interface ToolEnv {
  merchant: Merchant;
  callSid: string;
  /** The caller's number as E.164, when Twilio gave one that parses. */
  callerPhone: string | undefined;
  now: Date;
  /**
   * Aborted at the tool's deadline. Only for reads whose result nobody wants once the answer is given
   * up (calendar free/busy); writes that started run to completion.
   */
  signal: AbortSignal;
  store: Store;
  /** The merchant's calendar, or null when none is connected (cached by calendarFor). */
  calendar(): Promise<CalendarClient | null>;
  region: CountryCode;
  log: Logger;
  /**
   * Tells the merchant's owner by SMS (urgent message, booking, cancellation), through the durable
   * queue. Never throws and never fails the tool; a merchant without an owner number ignores it.
   */
  notify(event: OwnerEvent): Promise<void>;
}

/** What goes back to the model: `body` becomes the function_call_output text. */
export interface ToolResult {
  ok: boolean;
  body: Record<string, unknown>;
}

export interface Tool {
  readonly name: string;
  readonly spec: ToolSpec;
  /** How the model should put a failure or timeout to the caller ("I wasn't able to …"). */
  readonly failure: string;
  /** Validates `args` (already JSON-parsed) and runs; invalid arguments throw InvalidArguments. */
  invoke(args: unknown, env: ToolEnv): Promise<ToolResult>;
}

export interface ToolDefinition<S extends z.ZodType> {
  name: string;
  description: string;
  schema: S;
  failure: string;
  run(args: z.output<S>, env: ToolEnv): Promise<ToolResult>;
}

export function defineTool<S extends z.ZodType>(def: ToolDefinition<S>): Tool {
  // The draft marker means nothing to the model and costs tokens on every session.update.
  const { $schema: _draft, ...parameters } = z.toJSONSchema(def.schema, { io: 'input' });
  return {
    name: def.name,
    spec: { name: def.name, description: def.description, parameters },
    failure: def.failure,
    async invoke(args, env) {
      const parsed = def.schema.safeParse(args);
      if (!parsed.success) throw new InvalidArguments(describeIssues(parsed.error.issues));
      return def.run(parsed.data, env);
    },
  };
}

/** A successful answer. */
export function answer(body: Record<string, unknown>): ToolResult {
  return { ok: true, body };
}

/** The tool did not do what was asked (slot taken, nothing to cancel, …); `message` says why. */
export function refusal(error: string, message: string, extra: Record<string, unknown> = {}): ToolResult {
  return { ok: false, body: { error, message, ...extra } };
}
