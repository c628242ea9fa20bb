// OpenAI's call-control REST API as the SIP imitation answers it: POST
// /v1/realtime/calls/{call_id}/{accept|reject|refer|hangup} (openai-node src/resources/realtime/calls.ts
// for the paths and bodies; the answers to wrong requests are listed in sip-errors.ts). A success is
// 200 with an empty body (the SDK's methods resolve to void).
import type { CallAcceptParams } from 'openai/resources/realtime/calls';
import { ProtocolError, isJsonObject, type Json, type JsonObject } from '../model/model-protocol.js';
import { SessionConfig } from '../model/model-session-config.js';
import type { SipCall } from './sip-call.js';
import { assertNever } from '../../util/never.js';
import { callNotFound, invalidRequest } from './sip-errors.js';

export type SipOp = 'accept' | 'reject' | 'refer' | 'hangup';
export const SIP_OPS: readonly SipOp[] = ['accept', 'reject', 'refer', 'hangup'];

const DEFAULT_REJECT_STATUS = 603; // "Defaults to 603 (Decline) when omitted" (CallRejectParams)
// Refer-To takes a tel: number or a sip:/sips: URI (CallReferParams: `tel:+14155550123`, `sip:agent@example.com`).
const REFER_SCHEMES = /^(tel:\+?[0-9*#-]+|sips?:\S+)$/i;

/** Parses a request body: empty is `{}` (reject and hangup may have none), else a JSON object. */
export function parseBody(text: string): JsonObject {
  if (text.trim() === '') return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw invalidRequest(
      'We could not parse the JSON body of your request. The OpenAI API expects a JSON payload, ' +
        'but what was sent was not valid JSON.',
    );
  }
  if (!isJsonObject(raw)) throw invalidRequest('The request body must be a JSON object.', 'invalid_type');
  return raw;
}

/** The accept body checked as a session.update would be (the REST params are the session's fields). */
export function validAcceptBody(body: JsonObject, defaultModel: string): CallAcceptParams {
  const model = typeof body.model === 'string' ? body.model : defaultModel;
  try {
    new SessionConfig('openai', model, 'sess_check', 0).apply(body, false);
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    throw invalidRequest(
      err.message.replaceAll("'session.", "'"),
      err.code,
      err.param?.replace(/^session\./, '') ?? null,
    );
  }
  return toAcceptParams(body);
}

// The validator has checked the fields CallAcceptParams names; the rest is the SDK's contract.
function toAcceptParams(body: JsonObject): CallAcceptParams {
  const params: CallAcceptParams = { type: 'realtime' };
  return Object.assign(params, body);
}

/** Performs `op` on `call` (undefined: unknown id). Throws HttpError for what OpenAI would refuse. */
export function perform(op: SipOp, call: SipCall | undefined, body: JsonObject, defaultModel: string): void {
  if (!call?.live) throw callNotFound();
  const c = call;
  switch (op) {
    case 'accept':
      if (c.state === 'accepted') throw invalidRequest(`Call ${c.callId} has already been accepted.`);
      c.accept(validAcceptBody(body, defaultModel), body);
      return;
    case 'reject':
      if (c.state === 'accepted') throw invalidRequest(`Call ${c.callId} has been accepted; hang it up instead.`);
      c.reject(rejectStatus(body.status_code));
      return;
    case 'refer':
      if (c.state === 'ringing') throw invalidRequest(`Call ${c.callId} has not been accepted; it cannot be referred.`);
      c.refer(referTarget(body.target_uri));
      return;
    case 'hangup':
      if (c.state === 'ringing') throw invalidRequest(`Call ${c.callId} has not been accepted; reject it instead.`);
      c.hangupByApplication();
      return;
    default:
      assertNever(op);
  }
}

function rejectStatus(v: Json | undefined): number {
  if (v === undefined || v === null) return DEFAULT_REJECT_STATUS;
  // A SIP final failure response: 4xx, 5xx or 6xx.
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 400 || v > 699) {
    throw invalidRequest(
      `Invalid 'status_code': expected a SIP status between 400 and 699.`,
      'invalid_value',
      'status_code',
    );
  }
  return v;
}

function referTarget(v: Json | undefined): string {
  if (v === undefined)
    throw invalidRequest("Missing required parameter: 'target_uri'.", 'missing_required_parameter', 'target_uri');
  if (typeof v !== 'string' || !REFER_SCHEMES.test(v)) {
    throw invalidRequest(`Invalid 'target_uri': expected a tel: or sip: URI.`, 'invalid_value', 'target_uri');
  }
  return v;
}
