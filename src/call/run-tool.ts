import type { FunctionCall, ToolOutput } from '../../machines/call.types.js';
import type { Merchant } from '../merchants/merchant.js';
import type { Logger } from '../log.js';

// Runs one model tool call and always comes back with an output the model can speak: no executor
// installed means an unknown tool, an exception means "I wasn't able to …".

export type ToolExecutor = (
  call: FunctionCall,
  ctx: { merchant: Merchant; callSid: string; callerPhone?: string },
) => Promise<ToolOutput>;

export async function runToolSafely(
  run: ToolExecutor | undefined,
  call: FunctionCall,
  ctx: { merchant: Merchant; callSid: string; callerPhone?: string },
  log: Logger,
): Promise<ToolOutput> {
  if (!run) {
    return {
      callId: call.callId,
      ok: false,
      output: JSON.stringify({
        error: 'unknown_tool',
        message: `The tool "${call.name}" is not available on this line.`,
      }),
    };
  }
  try {
    return await run(call, ctx);
  } catch (err) {
    log.error({ err, tool: call.name }, 'tool failed');
    return {
      callId: call.callId,
      ok: false,
      output: JSON.stringify({ error: 'tool_failed', message: `I wasn't able to complete ${call.name}.` }),
    };
  }
}
