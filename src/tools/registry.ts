import type { CountryCode } from 'libphonenumber-js';
import type { FunctionCall, ToolOutput } from '../../machines/call.types.js';
import type { CalendarClient } from '../calendar/calendar.js';
import { log, maskPhone } from '../log.js';
import type { Merchant } from '../merchants/merchant.js';
import type { NotifyOwner } from '../notify/owner-sms.js';
import type { Store } from '../store/store.js';
import { cancelBooking } from './cancel-booking.js';
import { checkAvailability } from './check-availability.js';
import { createBooking } from './create-booking.js';
import { lookupCustomer } from './lookup-customer.js';
import { takeMessage } from './take-message.js';
import type { Tool, ToolEnv, ToolExecutor, ToolResult, ToolSpec } from './tool.js';
import { unknownTool } from './run-safely.js';
import { InvalidArguments, toE164 } from './validate.js';

// The five receptionist tools, what the model is told about them, and how a call runs one: parse
// the arguments, run under a deadline, and always hand back an output the model can speak from.

export const TOOLS: readonly Tool[] = [lookupCustomer, checkAvailability, createBooking, cancelBooking, takeMessage];
const BY_NAME = new Map(TOOLS.map((t) => [t.name, t]));

export const DEFAULT_TOOL_TIMEOUT_MS = 8000;

/** The specs declared to the model: only the tools in the merchant's `tools` list, in a fixed order. */
export function toolSpecsFor(merchant: Pick<Merchant, 'tools'>): ToolSpec[] {
  return TOOLS.filter((t) => merchant.tools.includes(t.name)).map((t) => t.spec);
}

export interface ToolExecutorDeps {
  store: Store;
  calendarFor(merchant: Merchant): Promise<CalendarClient | null>;
  /** Clock for "today", "tomorrow" and what is in the past. Default: the system clock. */
  now?: () => Date;
  /** How long the model waits for one tool's answer. Default 8000. */
  timeoutMs?: number;
  /** Country of numbers said without a country code. Default US. */
  defaultRegion?: CountryCode;
  /** Owner SMS (src/notify/owner-sms.ts); without it tools notify nobody. */
  notifyOwner?: NotifyOwner;
}

const tlog = log.child({ mod: 'tools' });

export function createToolExecutor(deps: ToolExecutorDeps): ToolExecutor {
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  const region = deps.defaultRegion ?? 'US';
  const clock = deps.now ?? (() => new Date());

  return async (call, ctx) => {
    const tool = BY_NAME.get(call.name);
    if (!tool || !ctx.merchant.tools.includes(tool.name)) {
      return unknownTool(call);
    }
    let args: unknown;
    try {
      args = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
    } catch {
      return output(
        call,
        invalid('arguments are not valid JSON: send one JSON object with the fields in the tool schema'),
      );
    }
    const callLog = tlog.child({ callSid: ctx.callSid, tool: tool.name });
    const ac = new AbortController();
    const env: ToolEnv = {
      merchant: ctx.merchant,
      callSid: ctx.callSid,
      callerPhone: toE164(ctx.callerPhone, region) ?? undefined,
      now: clock(),
      signal: ac.signal,
      store: deps.store,
      calendar: () => deps.calendarFor(ctx.merchant),
      region,
      log: callLog,
      notify: async (event) => {
        if (!deps.notifyOwner) return;
        const outcome = await deps.notifyOwner(ctx.merchant, event).catch(() => 'failed');
        if (outcome === 'failed') callLog.warn({ kind: event.kind }, 'owner notification failed');
      },
    };
    const started = performance.now();
    const work = tool.invoke(args, env).catch((err: unknown) => failed(tool, err, callLog, env.callerPhone));

    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const first = await Promise.race([work, deadline]);
    clearTimeout(timer);
    if (first !== 'timeout') return output(call, first);

    // Only the answer is given up: writes already under way finish (a booking made is a booking kept).
    ac.abort();
    callLog.warn({ timeoutMs }, 'tool ran out of time; answering the model without its result');
    void work.then((late) =>
      callLog.warn(
        { ok: late.ok, ms: Math.round(performance.now() - started) },
        'tool finished after its deadline; its answer was dropped',
      ),
    );
    return output(call, { ok: false, body: { error: 'timeout', message: tool.failure } });
  };
}

function invalid(message: string): ToolResult {
  return {
    ok: false,
    body: { error: 'invalid_arguments', message: `${message}. Ask the caller again if needed, then retry.` },
  };
}

function failed(tool: Tool, err: unknown, l: typeof tlog, callerPhone: string | undefined): ToolResult {
  if (err instanceof InvalidArguments) return invalid(err.message);
  // Messages only: a database error's detail can echo the caller's number.
  l.error(
    { err: err instanceof Error ? `${err.name}: ${err.message}` : String(err), caller: maskPhone(callerPhone) },
    'tool failed',
  );
  return { ok: false, body: { error: 'tool_failed', message: tool.failure } };
}

function output(call: FunctionCall, r: ToolResult): ToolOutput {
  return { callId: call.callId, ok: r.ok, output: JSON.stringify(r.body) };
}
