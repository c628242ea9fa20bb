import OpenAI from 'openai';
import type { CallAcceptParams } from 'openai/resources/realtime/calls';

// OpenAI's REST controls of a SIP call, through the `openai` SDK (`client.realtime.calls`). The SDK
// retries nothing here: accept has its own retry inside the ring window (sip-answer.ts), and a refer
// or hang-up that fails is reported to the call, which decides.

export interface SipCallApi {
  accept(callId: string, session: CallAcceptParams): Promise<void>;
  /** `status` is the SIP response the caller's carrier gets (486 busy, 404 not found, 603 decline). */
  reject(callId: string, status: number): Promise<void>;
  /** `targetUri`: `tel:+E164` or `sip:…`, put in the REFER's Refer-To. */
  refer(callId: string, targetUri: string): Promise<void>;
  hangup(callId: string): Promise<void>;
}

export interface SipCallApiOptions {
  apiKey: string;
  /** OpenAI's HTTP API (OPENAI_BASE_URL); the SDK's default when unset. */
  baseURL?: string;
  /** Per request; accept is retried within the ring window on top of it. */
  timeoutMs?: number;
}

export function openaiSipCallApi(opts: SipCallApiOptions): SipCallApi {
  const client = new OpenAI({
    apiKey: opts.apiKey,
    ...(opts.baseURL ? { baseURL: opts.baseURL } : {}),
    maxRetries: 0,
    timeout: opts.timeoutMs ?? 5000,
  });
  const calls = client.realtime.calls;
  return {
    accept: async (callId, session) => {
      await calls.accept(callId, session);
    },
    reject: async (callId, status) => {
      await calls.reject(callId, { status_code: status });
    },
    refer: async (callId, targetUri) => {
      await calls.refer(callId, { target_uri: targetUri });
    },
    hangup: async (callId) => {
      await calls.hangup(callId);
    },
  };
}

/** The HTTP status of a failed SDK request (undefined: no answer at all, e.g. a timeout). */
export function apiStatus(err: unknown): number | undefined {
  return err instanceof OpenAI.APIError && typeof err.status === 'number' ? err.status : undefined;
}
