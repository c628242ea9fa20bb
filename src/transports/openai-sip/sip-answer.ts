import type { RealtimeCallIncomingWebhookEvent } from 'openai/resources/webhooks';
import { Call, type CallDeps } from '../../call/call.js';
import { log, maskPhone } from '../../log.js';
import type { MerchantDirectory } from '../../merchants/directory.js';
import type { Merchant } from '../../merchants/merchant.js';
import type { RelayMetrics } from '../../obs/metrics.js';
import type { SessionSpec } from '../../providers/dialect.js';
import type { ModelEndpoint } from '../../providers/endpoint.js';
import { ModelConnection } from '../../providers/realtime-connection.js';
import { sidebandDialect, sipAcceptParams } from '../../providers/sip-session.js';
import type { ToolSpec } from '../../tools/tool.js';
import { SidebandLink } from './sideband-link.js';
import { SidebandPlane } from './sideband-plane.js';
import { apiStatus, type SipCallApi } from './sip-call-api.js';
import { parseInvite, type SipInvite } from './sip-invite.js';
import { SipLineControl } from './sip-line-control.js';

// What the relay does with a call OpenAI offers over SIP: find the merchant (as on Media Streams),
// refuse it with a SIP status when it cannot take it, else accept it with the merchant's whole session
// and run the same `Call` (chart, tools, transcript, record) over the sideband socket, with a data
// plane that has no audio.

/** Busy: the caller's carrier plays a busy tone (the caller may try again), not a hang-up after rings. */
export const SIP_BUSY = 486;
/** No merchant has this number. */
export const SIP_NOT_FOUND = 404;

/** Accept attempts after the first, within the ring window (OpenAI's accept has been seen to take seconds). */
const ACCEPT_RETRY_MS = [250, 500, 1000, 2000, 2000];

export interface SipAnswerDeps {
  api: SipCallApi;
  directory: MerchantDirectory;
  metrics: RelayMetrics;
  /** OpenAI's model and keys for the sideband (OPENAI_REALTIME_URL / OPENAI_API_KEY / model / voice). */
  endpoint: ModelEndpoint;
  toolSpecs: (m: Merchant) => ToolSpec[];
  call: Omit<CallDeps, 'model' | 'inspect' | 'onEnded' | 'line' | 'transfers' | 'resumed' | 'bargeIn'>;
  calls: Map<string, Call>;
  draining: () => boolean;
  /** 0: no limit. */
  maxLiveCalls: number;
  /** How long accept may keep being retried from the webhook's arrival (default 8 s). */
  ringWindowMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class SipAnswerer {
  private readonly log = log.child({ component: 'openai-sip' });

  constructor(private readonly deps: SipAnswerDeps) {}

  /** Runs after the webhook was answered; never throws. */
  async incoming(event: RealtimeCallIncomingWebhookEvent, arrivedAt: number): Promise<void> {
    const callId = event.data.call_id;
    const invite = parseInvite(event.data.sip_headers);
    try {
      await this.answer(callId, invite, arrivedAt);
    } catch (err) {
      this.log.error({ err, callId }, 'SIP call could not be answered');
    }
  }

  private async answer(callId: string, invite: SipInvite, arrivedAt: number): Promise<void> {
    const { deps } = this;
    if (deps.calls.has(callId)) return this.log.warn({ callId }, 'SIP call already live; offer ignored');
    if (deps.draining()) return this.reject(callId, SIP_BUSY, 'rejected_draining', 'relay draining');
    if (deps.maxLiveCalls > 0 && deps.calls.size >= deps.maxLiveCalls) {
      return this.reject(callId, SIP_BUSY, 'rejected_busy', `${deps.calls.size} calls live (MAX_LIVE_CALLS)`);
    }
    const named =
      (invite.merchantId ? await deps.directory.byId(invite.merchantId) : undefined) ??
      (invite.to ? await deps.directory.byNumber(invite.to) : undefined);
    const merchant = named ?? (await deps.directory.fallback());
    if (!merchant) {
      this.log.warn({ callId, to: maskPhone(invite.to ?? '') }, 'no merchant for the SIP call; rejected');
      return this.reject(callId, SIP_NOT_FOUND, 'rejected_unknown', 'no merchant');
    }
    const tools = deps.toolSpecs(merchant);
    const spec: SessionSpec = {
      instructions: merchant.instructions,
      voice: merchant.voice ?? deps.endpoint.voice,
      tools,
      transcription: deps.endpoint.transcription,
      ...(merchant.realtime ? { options: merchant.realtime } : {}),
    };
    const model = merchant.realtime?.model ?? deps.endpoint.model;
    if (!(await this.accept(callId, sipAcceptParams(spec, model), arrivedAt))) return;
    deps.metrics.sipCalls.inc({ outcome: 'accepted' });
    this.start(callId, invite, merchant, spec, model);
  }

  /** True once OpenAI accepted; false when it never did within the ring window (the call rings out). */
  private async accept(callId: string, body: ReturnType<typeof sipAcceptParams>, arrivedAt: number) {
    const deadline = arrivedAt + (this.deps.ringWindowMs ?? 8000);
    for (let attempt = 0; ; attempt++) {
      if (attempt === 0) this.deps.metrics.sipAcceptDelay.observe((performance.now() - arrivedAt) / 1000);
      try {
        await this.deps.api.accept(callId, body);
        return true;
      } catch (err) {
        const status = apiStatus(err);
        // 409: an earlier attempt of ours went through after all (its answer was lost).
        if (status === 409 && attempt > 0) return true;
        const wait = ACCEPT_RETRY_MS[attempt];
        // 404: the call is gone (the caller gave up); other 4xx: retrying would be refused the same.
        const final = status === 404 || (status !== undefined && status >= 400 && status < 500 && status !== 429);
        if (final || wait === undefined || performance.now() + wait > deadline) {
          this.deps.metrics.sipCalls.inc({ outcome: 'accept_failed' });
          this.log.error(
            { callId, status, attempts: attempt + 1, err: err instanceof Error ? err.message : String(err) },
            'OpenAI did not accept the SIP call; it will ring out',
          );
          return false;
        }
        await sleep(wait);
      }
    }
  }

  private start(callId: string, invite: SipInvite, merchant: Merchant, spec: SessionSpec, model: string): void {
    const { deps } = this;
    const callLog = this.log.child({ callSid: callId });
    const plane = new SidebandPlane(() => deps.api.hangup(callId), callLog);
    const endpoint = { ...deps.endpoint, model };
    const link = new SidebandLink(
      () =>
        new ModelConnection({
          dialect: sidebandDialect(callId),
          baseUrl: endpoint.baseUrl,
          model,
          apiKey: endpoint.apiKey,
          session: spec,
          log: callLog,
        }),
      { event: (e) => plane.modelEvent(e), gone: () => plane.callGone() },
      callLog,
    );
    const call = new Call(
      {
        callSid: callId,
        streamSid: '',
        merchant,
        callerPhone: invite.from,
        calledNumber: invite.to,
        direction: invite.direction ?? 'inbound',
        answeredBy: invite.answeredBy,
        conversationSid: invite.conversationSid,
        requester: invite.requester,
      },
      plane,
      {
        ...deps.call,
        model: { connection: link, endpoint },
        // OpenAI hears the caller and stops its own playback (interrupt_response): the chart asks for no
        // cancel or truncate, and lets any greeting be stopped.
        bargeIn: 'model',
        line: new SipLineControl(deps.api),
        onEnded: (c) => deps.calls.delete(c.info.callSid),
      },
    );
    if (!call.isEnded) deps.calls.set(callId, call);
  }

  private async reject(callId: string, status: number, outcome: string, why: string): Promise<void> {
    this.deps.metrics.sipCalls.inc({ outcome });
    this.log.info({ callId, status, why }, 'SIP call rejected');
    await this.deps.api.reject(callId, status).catch((err: unknown) => {
      this.log.warn({ callId, err: err instanceof Error ? err.message : String(err) }, 'SIP reject failed');
    });
  }
}
