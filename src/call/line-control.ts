import type { TransferTarget } from '../merchants/merchant.js';
import type { CallInfo } from './call.js';

// What a call may ask of the telephone line itself, beyond its audio: put the caller through to a
// person, or hang up. For a Media Streams call it is Twilio's REST API (src/transports/twilio/
// twilio-line-control.ts); a line without it (tests, a relay without Twilio credentials) cannot
// transfer, and the caller hears that instead.

export interface TransferRequest {
  call: CallInfo;
  target: TransferTarget;
  /** One sentence for the person, said before the caller is connected. */
  summary: string;
}

/** What the platform's acceptance of a transfer says (absent: nothing beyond "accepted"). */
export interface TransferResult {
  /** For the record: how far the transfer is known to have gone (SIP: `refer_sent`). */
  outcome?: string;
}

export interface LineControl {
  /** Resolves once the platform accepted the redirect; rejects (with the reason) if it refused. */
  transfer(req: TransferRequest): Promise<TransferResult>;
  /** Ends the call where closing the audio does not (an outbound call's leg). */
  hangUp(call: CallInfo): Promise<void>;
}
