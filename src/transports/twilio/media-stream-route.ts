import type { InspectionEvent, Observer } from 'xstate';
import { Call, type CallDeps } from '../../call/call.js';
import { isTransferMiss, type ResumedCall } from '../../call/returned-call.js';
import type { TransferLedger } from '../../call/transfer-ledger.js';
import type { EdgeConfig } from '../../http/edge-config.js';
import { guardStreamUpgrade, guardedUpgrade, mountUpgradeRequired } from '../../http/edge-guard.js';
import { json } from '../../http/uws-http.js';
import type { MerchantDirectory } from '../../merchants/directory.js';
import type { Merchant } from '../../merchants/merchant.js';
import type { RelayMetrics } from '../../obs/metrics.js';
import type { ModelOpener } from '../../providers/endpoint.js';
import type { Limiters } from '../../security/limiters.js';
import type { ToolSpec } from '../../tools/tool.js';
import * as uWS from '../uws.js';
import { MediaStreamPlane } from './media-stream-plane.js';
import type { TwilioStart } from './messages.js';
import { MAX_FRAME_BYTES, TwilioStream, type StreamListener } from './twilio-stream.js';

// WS /media-stream: Twilio's bidirectional Media Streams. Each socket gets a TwilioStream; on its
// `start` the merchant is looked up and the call is put together from its three parts: the model
// socket, the Media Streams data plane, and the call's control plane (`Call`).

export interface MediaStreamRouteDeps {
  edge: EdgeConfig;
  limiters: Limiters;
  metrics: RelayMetrics;
  directory: MerchantDirectory;
  openModel: ModelOpener;
  apologyClip: Buffer;
  toolSpecs?: (m: Merchant) => ToolSpec[];
  /** Statechart inspection per call (dev only; see src/obs/inspect.ts). */
  inspect?: (callSid: string) => Observer<InspectionEvent> | undefined;
  /** What every call shares: recorder, limits, tools, listeners. */
  call: Omit<CallDeps, 'model' | 'inspect' | 'onEnded'>;
  /** Live calls by CallSid; a call leaves it when it ends. */
  calls: Map<string, Call>;
  originAllowed: (origin: string | undefined) => boolean;
  draining: () => boolean;
}

interface StreamUserData {
  stream: TwilioStream | null;
  /** No more sends: the call closed it, or Twilio stopped reading. */
  closed: boolean;
  remote: string;
}

const decoder = new TextDecoder();

/** A stream that brings back a call whose transfer was not answered, with its first half. */
function returnedCall(
  p: Record<string, string>,
  callSid: string,
  transfers: TransferLedger | undefined,
): ResumedCall | undefined {
  const outcome = p.transferOutcome ?? '';
  if (!p.returnedFrom || !isTransferMiss(outcome)) return undefined;
  const first = transfers?.take(callSid)?.summary;
  return first ? { first, target: p.returnedFrom, outcome } : undefined;
}

export interface MediaStreamRoute {
  /** Closes every Media Streams socket (server shutdown). */
  closeAll(code: number, reason: string): void;
}

export function mountMediaStreams(app: uWS.TemplatedApp, deps: MediaStreamRouteDeps): MediaStreamRoute {
  const { edge, limiters, metrics } = deps;
  const sockets = new Set<uWS.WebSocket<StreamUserData>>();

  const startCall = async (start: TwilioStart, stream: TwilioStream): Promise<StreamListener | { refused: string }> => {
    const p = start.start.customParameters;
    const merchant =
      (p.merchantId ? await deps.directory.byId(p.merchantId) : undefined) ?? (await deps.directory.fallback());
    if (!merchant) return { refused: 'no merchant for this call' };
    const callSid = start.start.callSid;
    if (deps.calls.has(callSid)) return { refused: 'a stream for this call is already live' };
    const model = deps.openModel(merchant, deps.toolSpecs?.(merchant) ?? []);
    const resumed = returnedCall(p, callSid, deps.call.transfers);
    const plane = new MediaStreamPlane(stream, model.connection, { apologyClip: deps.apologyClip, hot: metrics.hot });
    const call = new Call(
      {
        callSid,
        streamSid: start.streamSid,
        merchant,
        callerPhone: p.callerPhone || undefined,
        calledNumber: p.calledNumber || undefined,
        direction: p.direction === 'outbound' ? 'outbound' : 'inbound',
        answeredBy: p.answeredBy || undefined,
        conversationSid: p.conversationSid || undefined,
        requester: p.requester || undefined,
      },
      plane,
      {
        ...deps.call,
        model,
        inspect: deps.inspect?.(callSid),
        ...(resumed ? { resumed } : {}),
        onEnded: (c) => deps.calls.delete(c.info.callSid),
      },
    );
    if (!call.isEnded) deps.calls.set(callSid, call);
    return plane;
  };

  app.ws<StreamUserData>('/media-stream', {
    compression: uWS.DISABLED,
    // Transport limit: beyond this uWS closes the socket. Smaller oversized frames are dropped by
    // TwilioStream and the call goes on.
    maxPayloadLength: 1024 * 1024,
    maxBackpressure: 1024 * 1024,
    idleTimeout: 60,
    upgrade: (res, req, context) =>
      guardedUpgrade<StreamUserData>(res, req, context, edge.trustProxy, async (r) => {
        if (deps.draining()) return { accept: false, reply: json(503, { error: 'draining' }) };
        // Refused before any model socket is opened: an unauthenticated socket must not spend the key.
        const refused = await guardStreamUpgrade(edge, limiters.wsUpgradePerIp, deps.originAllowed, r);
        if (refused) {
          metrics.rateLimited.inc({ limit: refused.status === 429 ? 'ws_upgrade' : 'twilio_signature' });
          return { accept: false, reply: refused };
        }
        return { accept: true, userData: { stream: null, closed: false, remote: r.ip } };
      }),
    open: (ws) => {
      sockets.add(ws);
      const data = ws.getUserData();
      // uWS refuses a send (2) once maxBackpressure bytes wait unread: Twilio has stopped reading
      // (≈ a minute of audio is queued). Dropping frames silently would garble the call and lose the
      // marks the chart waits for, so the stream is closed and the call ends with its record.
      const refused = () => {
        if (data.closed) return;
        data.closed = true;
        metrics.twilioStalled.inc();
        data.stream?.onSendRefused(ws.getBufferedAmount());
        // Not from inside a send (it may be corked): the close handler runs synchronously. A socket
        // uWS already closed has left `sockets` and must not be touched.
        setImmediate(() => {
          if (sockets.has(ws)) ws.close();
        });
      };
      data.stream = new TwilioStream(
        {
          send: (text) => {
            if (!data.closed && ws.send(text, false) === 2) refused();
          },
          cork: (fn) => {
            if (!data.closed) ws.cork(fn);
          },
          close: (code, reason) => {
            if (data.closed) return;
            data.closed = true;
            ws.end(code, reason);
          },
        },
        startCall,
        data.remote,
        () => metrics.badMessages.inc({ source: 'twilio' }),
      );
    },
    message: (ws, message, isBinary) => {
      const stream = ws.getUserData().stream;
      if (!stream) return;
      const bytes = message.byteLength;
      stream.onMessage(isBinary || bytes > MAX_FRAME_BYTES ? null : decoder.decode(message), bytes, isBinary);
    },
    close: (ws, code) => {
      sockets.delete(ws);
      const data = ws.getUserData();
      data.closed = true;
      data.stream?.onClose(code);
    },
  });
  mountUpgradeRequired(app, ['/media-stream'], limiters.httpPerIp, edge.trustProxy);

  return {
    closeAll(code, reason) {
      for (const ws of [...sockets]) {
        const data = ws.getUserData();
        if (data.closed) continue;
        data.closed = true;
        ws.end(code, reason);
      }
    },
  };
}
