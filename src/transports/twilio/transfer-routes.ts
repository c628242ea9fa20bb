import twilio from 'twilio';
import type { CallRecorder } from '../../call/recorder.js';
import { isTransferMiss, type TransferMiss } from '../../call/returned-call.js';
import type { TransferEntry, TransferLedger } from '../../call/transfer-ledger.js';
import { log, maskPhone } from '../../log.js';
import type * as uWS from '../uws.js';
import { mountTwilioForm, twiml, type TwilioRouteDeps } from './twilio-form-route.js';

// The two webhooks of a transfer (see twilio-line-control.ts for the TwiML that asks for them):
// - POST /twilio/whisper: the person answered; Twilio plays them who is calling and why, then
//   connects the caller.
// - POST /twilio/dial-action: the <Dial> is over. Answered: the call ends when they hang up, and the
//   record says the transfer was answered. Not answered (busy, no answer, failed): the caller is
//   neither dropped nor left in silence; the call comes back to the assistant on a new stream that
//   carries the conversation so far, and the owner can be told.

export interface TransferMissed {
  callSid: string;
  entry: TransferEntry | undefined;
  outcome: TransferMiss;
  /** Twilio's DialCallSid of the attempt (each attempt is its own event). */
  dialCallSid: string | undefined;
}

export interface TransferRouteDeps extends TwilioRouteDeps {
  transfers: TransferLedger;
  recorder: CallRecorder;
  publicHost: string;
  /** A transfer nobody answered (owner notification). */
  onMissed?: (miss: TransferMissed) => void;
}

const ANSWERED = new Set(['completed', 'answered']);

/** The first half's record again, now saying how the transfer went (stored idempotently by CallSid). */
function recordOutcome(deps: TransferRouteDeps, entry: TransferEntry | undefined, outcome: string): void {
  const summary = entry?.summary;
  if (!summary || !entry) return;
  const atMs = Date.now() - summary.startedAt.getTime();
  const withOutcome = {
    ...summary,
    timeline: [...summary.timeline, { atMs, kind: 'transfer' as const, target: entry.target, outcome }],
  };
  entry.summary = withOutcome;
  deps.recorder.record(withOutcome).catch((err: unknown) => log.error({ err }, 'transfer outcome not recorded'));
}

export function mountTransferRoutes(app: uWS.TemplatedApp, deps: TransferRouteDeps): void {
  mountTwilioForm(app, '/twilio/whisper', deps, 'a Twilio <Number url> request', async (_form, query) => {
    const entry = deps.transfers.get(query.get('callSid') ?? '');
    const vr = new twilio.twiml.VoiceResponse();
    vr.say(entry ? `Incoming transfer from the virtual receptionist: ${entry.whisper}` : 'Incoming transfer.');
    return twiml(vr.toString());
  });

  mountTwilioForm(app, '/twilio/dial-action', deps, 'a Twilio <Dial action> callback', async (form, query) => {
    const callSid = form.get('CallSid') ?? '';
    const status = form.get('DialCallStatus') ?? '';
    const entry = deps.transfers.get(callSid);
    const vr = new twilio.twiml.VoiceResponse();
    if (ANSWERED.has(status) || !isTransferMiss(status)) {
      // Answered (or a status we do not know): the person had the call; it ends with them.
      log.info({ callSid, status, target: entry?.target }, 'transfer answered');
      recordOutcome(deps, entry, 'answered');
      deps.transfers.take(callSid);
      vr.hangup();
      return twiml(vr.toString());
    }
    log.info({ callSid, status, target: entry?.target }, 'transfer not answered; the call comes back');
    recordOutcome(deps, entry, status);
    deps.onMissed?.({ callSid, entry, outcome: status, dialCallSid: form.get('DialCallSid') ?? undefined });
    // Back to the assistant, as the voice webhook connects a call, plus what happened.
    const first = entry?.summary;
    const stream = vr.connect().stream({ url: `wss://${deps.publicHost}/media-stream` });
    const add = (name: string, value: string | undefined) => value && stream.parameter({ name, value });
    add('merchantId', first?.merchantId ?? query.get('merchantId') ?? undefined);
    add('callerPhone', first ? first.callerPhone : (form.get('From') ?? undefined));
    add('calledNumber', first ? first.calledNumber : (form.get('To') ?? undefined));
    add('direction', first?.direction ?? 'inbound');
    add('returnedFrom', entry?.target ?? 'the person');
    add('transferOutcome', status);
    log.debug({ callSid, caller: maskPhone(first?.callerPhone) }, 'returned call reconnecting');
    return twiml(vr.toString());
  });
}
