import type { FunctionCall, ToolOutput } from '../../machines/call.types.js';
import type { Logger } from '../log.js';
import type { ToolCallContext, ToolExecutor } from './tool.js';

// The one rule of tool calls: the model always gets an answer it can speak. A tool it names that
// this line does not have, a relay with no tools installed, or a tool that throws each become an
// output, never a rejected promise (the chart's tool actor would fail and the turn would hang).

/** The answer for a tool this line does not offer. */
export function unknownTool(call: FunctionCall): ToolOutput {
  return {
    callId: call.callId,
    ok: false,
    output: JSON.stringify({
      error: 'unknown_tool',
      message: `The tool "${call.name}" is not available on this line.`,
    }),
  };
}

export async function runToolSafely(
  run: ToolExecutor | undefined,
  call: FunctionCall,
  ctx: ToolCallContext,
  log: Logger,
): Promise<ToolOutput> {
  if (!run) return unknownTool(call);
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
