import type { AnyStateMachine } from 'xstate';
import { callMachine } from './call.machine.js';
import { smsInboxMachine, smsMessageMachine } from './sms.machine.js';

// Every statechart of the relay, by name. `npm run diagram` draws each one into
// docs/<name>-chart.md (from machines/<name>.machine.ts) and test/diagram.test.ts checks those files
// are current, so a new machine only needs a line here.
export const machines = {
  call: callMachine,
  smsInbox: smsInboxMachine,
  smsMessage: smsMessageMachine,
} satisfies Record<string, AnyStateMachine>;

export type MachineName = keyof typeof machines;
