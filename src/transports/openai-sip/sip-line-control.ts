import type { CallInfo } from '../../call/call.js';
import type { LineControl, TransferRequest, TransferResult } from '../../call/line-control.js';
import type { SipCallApi } from './sip-call-api.js';

// Transfers and hang-ups of a SIP call: OpenAI's `refer` and `hangup`. A refer that OpenAI answers
// 200 only says the REFER went out; whether the person's phone rang is the trunk's to know (a Twilio
// status callback on the trunk can confirm it; see the README). So the record says `refer_sent`, not
// `answered`. The call's id at OpenAI is the call's callSid.

export class SipLineControl implements LineControl {
  constructor(private readonly api: SipCallApi) {}

  async transfer(req: TransferRequest): Promise<TransferResult> {
    await this.api.refer(req.call.callSid, `tel:${req.target.number}`);
    return { outcome: 'refer_sent' };
  }

  hangUp(call: CallInfo): Promise<void> {
    return this.api.hangup(call.callSid);
  }
}
