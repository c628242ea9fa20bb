import { z } from 'zod';
import type { FunctionCall, ToolOutput } from '../../machines/call.types.js';
import { isWithinBusinessHours } from '../calendar/slots.js';
import type { Merchant, TransferTarget } from '../merchants/merchant.js';
import { unknownTool } from './run-safely.js';
import type { ToolCallContext, ToolExecutor, ToolSpec } from './tool.js';

// The tools that steer the call itself: transferCall (put the caller through to a person) and
// endCall (the assistant hangs up). They touch no database; their output carries a directive the
// call chart acts on once the line they ask the model to say has been heard (see
// machines/call.machine.ts, states `transferring` and `ending`). Every merchant has endCall; a
// merchant with transfer targets has transferCall, and the model sees the targets' names and what
// they handle, never their numbers.

export const CALL_CONTROL_TOOLS = ['transferCall', 'endCall'] as const;

const transferArgs = z.object({
  name: z.string({ error: 'name is required: one of the people listed in the tool description' }).trim().min(1),
  reason: z.string({ error: 'reason is required: one sentence on who is calling and why' }).trim().min(1).max(300),
});

const endArgs = z.object({ reason: z.string().trim().max(300).optional() });

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** "Mon 09:00-17:00, Tue 09:00-17:00" */
function hoursText(t: TransferTarget): string {
  const days = WEEKDAYS.flatMap((label, i) => {
    const ranges = t.hours[String(i + 1)] ?? [];
    return ranges.length > 0 ? [`${label} ${ranges.join(', ')}`] : [];
  });
  return days.length > 0 ? days.join('; ') : 'no set hours';
}

function targetsOf(m: Merchant): TransferTarget[] {
  return m.transferTargets ?? [];
}

/** The specs the model is shown for this merchant (transferCall only with targets). */
export function callControlSpecs(m: Merchant): ToolSpec[] {
  const specs: ToolSpec[] = [];
  const targets = targetsOf(m);
  if (targets.length > 0) {
    const list = targets.map((t) => `"${t.name}" (${t.handles}; takes calls ${hoursText(t)})`).join(', ');
    specs.push({
      name: 'transferCall',
      description:
        `Put the caller through to a person when they ask for one or need what only that person handles: ${list}. ` +
        'Before calling it, make sure the caller wants to be transferred. After it, say one short sentence ' +
        'that you are putting them through, and nothing else.',
      parameters: z.toJSONSchema(
        transferArgs.extend({
          name: z.string().describe('Exactly one of the names listed.'),
          reason: z.string().describe("One sentence for the person: the caller's name if known and what they want."),
        }),
        { io: 'input' },
      ),
    });
  }
  specs.push({
    name: 'endCall',
    description:
      'End the call when the conversation is over (the caller said goodbye or has nothing else). ' +
      'After it, say a short goodbye; the line closes once it has been heard.',
    parameters: z.toJSONSchema(endArgs.extend({ reason: z.string().optional().describe('Why the call ends.') }), {
      io: 'input',
    }),
  });
  for (const s of specs) delete s.parameters.$schema;
  return specs;
}

function out(call: FunctionCall, ok: boolean, body: Record<string, unknown>): ToolOutput {
  return { callId: call.callId, ok, output: JSON.stringify(body) };
}

function parseArgs(text: string): unknown {
  try {
    return text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    return undefined;
  }
}

function transferCall(call: FunctionCall, ctx: ToolCallContext, now: Date): ToolOutput {
  const parsed = transferArgs.safeParse(parseArgs(call.arguments));
  const targets = targetsOf(ctx.merchant);
  const names = targets.map((t) => t.name);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]?.message ?? 'invalid arguments';
    return out(call, false, { error: 'invalid_arguments', message: `${issue}. Valid names: ${names.join(', ')}.` });
  }
  const wanted = parsed.data.name.toLowerCase();
  const target = targets.find((t) => t.name.toLowerCase() === wanted);
  if (!target) {
    return out(call, false, {
      error: 'unknown_target',
      message:
        `There is nobody called "${parsed.data.name}" to transfer to. ` + `Valid names: ${names.join(', ') || 'none'}.`,
    });
  }
  const open = isWithinBusinessHours(
    { timeZone: ctx.merchant.timeZone, slotMinutes: 1, businessHours: target.hours },
    now,
    new Date(now.getTime() + 60_000),
  );
  if (!open) {
    return out(call, false, {
      error: 'out_of_hours',
      message:
        `${target.name} takes calls ${hoursText(target)} (${ctx.merchant.timeZone} time) and is not available now. ` +
        'Tell the caller, and offer to take a message instead.',
    });
  }
  return {
    ...out(call, true, {
      status: 'transferring',
      say: `In one short sentence, tell the caller you are putting them through to ${target.name} now.`,
    }),
    directive: { type: 'transfer', target: target.name, summary: parsed.data.reason },
  };
}

function endCall(call: FunctionCall): ToolOutput {
  const parsed = endArgs.safeParse(parseArgs(call.arguments));
  const reason = parsed.success ? (parsed.data.reason ?? 'conversation over') : 'conversation over';
  return {
    ...out(call, true, { status: 'ending', say: 'Say a short, warm goodbye now.' }),
    directive: { type: 'hangUp', reason },
  };
}

/**
 * Runs transferCall and endCall; every other tool goes to `next` (the receptionist tools).
 * `now` is the clock for a target's hours.
 */
export function withCallControl(next: ToolExecutor | undefined, now: () => Date = () => new Date()): ToolExecutor {
  return async (call, ctx) => {
    if (call.name === 'transferCall' && targetsOf(ctx.merchant).length > 0) return transferCall(call, ctx, now());
    if (call.name === 'endCall') return endCall(call);
    return next ? next(call, ctx) : unknownTool(call);
  };
}
