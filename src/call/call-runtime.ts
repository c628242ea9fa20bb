import { fromPromise } from 'xstate';
import { callMachine } from '../../machines/call.machine.js';
import type { CallContext, FunctionCall, ToolOutput } from '../../machines/call.types.js';

// The call chart with its I/O wired in, built ONCE per process. `machine.provide()` copies the whole
// state-node tree (~45 KiB of heap measured per copy), so providing per call would cost more memory
// than the rest of a call. Actions reach their call's sockets through the port registered under
// the call's id (`context.callSid`, unique among live calls).

export interface CallPort {
  requestGreeting(): void;
  leaveVoicemail(): void;
  interrupt(cancel: boolean): void;
  sendDtmf(digits: string, respond: boolean): void;
  sendToolOutputs(outputs: ToolOutput[]): void;
  requestWrapUp(context: CallContext): void;
  sayFiller(): void;
  playApology(): void;
  finish(context: CallContext): void;
  runTool(call: FunctionCall): Promise<ToolOutput>;
}

const ports = new Map<string, CallPort>();

export function registerCallPort(callSid: string, port: CallPort): void {
  ports.set(callSid, port);
}

export function unregisterCallPort(callSid: string, port: CallPort): void {
  if (ports.get(callSid) === port) ports.delete(callSid);
}

export function liveCallPorts(): number {
  return ports.size;
}

const port = (context: CallContext): CallPort | undefined => ports.get(context.callSid);

export const callRuntimeMachine = callMachine.provide({
  actions: {
    requestGreeting: ({ context }) => port(context)?.requestGreeting(),
    leaveVoicemail: ({ context }) => port(context)?.leaveVoicemail(),
    interrupt: ({ context }, params) => port(context)?.interrupt(params.cancel),
    sendDtmf: ({ context }, params) => port(context)?.sendDtmf(params.digits, params.respond),
    sendToolOutputs: ({ context }, params) => port(context)?.sendToolOutputs(params.outputs),
    requestWrapUp: ({ context }) => port(context)?.requestWrapUp(context),
    sayFiller: ({ context }) => port(context)?.sayFiller(),
    playApology: ({ context }) => port(context)?.playApology(),
    finish: ({ context }) => port(context)?.finish(context),
  },
  actors: {
    runTool: fromPromise<ToolOutput, { call: FunctionCall; callSid: string }>(async ({ input }) => {
      const p = ports.get(input.callSid);
      if (p) return p.runTool(input.call);
      return {
        callId: input.call.callId,
        ok: false,
        output: JSON.stringify({ error: 'call_ended', message: 'The call has ended.' }),
      };
    }),
  },
});
