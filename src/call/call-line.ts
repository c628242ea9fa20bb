import type { EndReason } from '../../machines/call.types.js';
import type { Logger } from '../log.js';
import type { CallInfo } from './call.js';
import type { LineControl } from './line-control.js';
import type { CallSummary } from './recorder.js';
import type { TransferLedger } from './transfer-ledger.js';

// What a call does to its telephone line rather than to its audio: put the caller through to a
// person (the transfer waits in the ledger for its outcome) and, for an outbound leg, hang up.

export class CallLine {
  constructor(
    private readonly info: CallInfo,
    private readonly log: Logger,
    private readonly line: LineControl | undefined,
    private readonly transfers: TransferLedger | undefined,
  ) {}

  /**
   * Asks the line to dial `name`: `progress` hears `dialing`, then what the platform could say of it
   * once accepted (SIP: `refer_sent`); `failed` runs if that is impossible or refused.
   */
  transfer(name: string, summary: string, on: { failed: () => void; progress: (outcome: string) => void }): void {
    on.progress('dialing');
    const failed = on.failed;
    const target = this.info.merchant.transferTargets?.find((t) => t.name === name);
    const line = this.line;
    if (!target || !line) {
      this.log.warn({ target: name, line: Boolean(line) }, 'transfer not possible on this line');
      return failed();
    }
    this.transfers?.put(this.info.callSid, { target: name, whisper: summary });
    line.transfer({ call: this.info, target, summary }).then(
      (result) => {
        this.log.info({ target: name, outcome: result.outcome }, 'call redirected to a person');
        if (result.outcome) on.progress(result.outcome);
      },
      (err: unknown) => {
        this.log.warn({ target: name, err: err instanceof Error ? err.message : String(err) }, 'transfer refused');
        this.transfers?.take(this.info.callSid);
        failed();
      },
    );
  }

  /** The call's stream ended with `summary`. */
  ended(endReason: EndReason, summary: CallSummary): void {
    if (endReason === 'transferred') this.transfers?.ended(this.info.callSid, summary);
    // An outbound leg does not end with our stream when the assistant hangs up: the line is told too.
    const assistantHungUp = endReason === 'assistant_ended' || endReason === 'caller_silent';
    if (this.info.direction === 'outbound' && assistantHungUp) {
      this.line?.hangUp(this.info).catch((err: unknown) => this.log.warn({ err }, 'hang-up over REST failed'));
    }
  }
}
