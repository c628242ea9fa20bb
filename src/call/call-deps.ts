import type { InspectionEvent, Observer } from 'xstate';
import type { BargeInOwner, Direction } from '../../machines/call.types.js';
import type { Merchant } from '../merchants/merchant.js';
import type { ModelEndpoint } from '../providers/endpoint.js';
import type { ModelLink } from '../providers/reconnecting-connection.js';
import type { RelayMetrics } from '../obs/metrics.js';
import type { ToolExecutor } from '../tools/tool.js';
import type { LineControl } from './line-control.js';
import type { CallRecorder } from './recorder.js';
import type { ResumedCall } from './returned-call.js';
import type { TransferLedger } from './transfer-ledger.js';
import type { Call } from './call.js';

// What a Call is told about itself (CallInfo) and what it is given to work with (CallDeps).

export interface CallInfo {
  callSid: string;
  /** Twilio's stream id for a Media Streams call. */
  streamSid: string;
  merchant: Merchant;
  callerPhone?: string;
  calledNumber?: string;
  direction: Direction;
  answeredBy?: string;
  /** Set on calls placed from an SMS thread (@call): where the outcome is posted back. */
  conversationSid?: string;
  requester?: string;
}

export interface CallDeps {
  model: { connection: ModelLink; endpoint: ModelEndpoint };
  recorder: CallRecorder;
  maxCallMs: number;
  connectTimeoutMs: number;
  /** Default 10 s (MODEL_RESPONSE_TIMEOUT_MS). */
  responseTimeoutMs?: number;
  /** Caller silence before a re-prompt (SILENCE_REPROMPT_SECONDS); default 8 s. */
  silenceMs?: number;
  /** Transfers and hang-ups on the line itself; without it a transfer fails and the caller is told. */
  line?: LineControl;
  /** Where a transfer's first half waits for its outcome (and for the call to come back). */
  transfers?: TransferLedger;
  /** This stream continues a call whose transfer was not answered: its first half. */
  resumed?: ResumedCall;
  runTool?: ToolExecutor;
  onEnded?: (call: Call) => void;
  /** Called on every state change (demo output, metrics). */
  onState?: (call: Call, state: string) => void;
  inspect?: Observer<InspectionEvent>;
  dtmfGapMs?: number;
  metrics?: RelayMetrics;
  /**
   * Who stops the assistant when the caller talks over it (default: the provider's). A data plane
   * whose audio the model hears directly (SIP) passes `model`: the model stops itself there.
   */
  bargeIn?: BargeInOwner;
}
