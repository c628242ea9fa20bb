import { join } from 'node:path';
import type { Config, EnvSource } from '../config.js';
import { readEnv } from '../config.js';
import type { FormWebhookDeps } from '../sms/form-webhook.js';
import { log } from '../log.js';
import type { MerchantDirectory } from '../merchants/directory.js';
import { createTwilioClient, type TwilioClient } from '../sms/twilio-rest.js';
import type { RecordingSink } from '../store/outbox.js';
import type { Store } from '../store/store.js';
import type { TemplatedApp } from '../transports/uws.js';
import { createSummaryWriter } from './call-summary.js';
import { CallRecordings } from './call-recordings.js';
import { type NotifyOwner, OwnerSms } from './owner-sms.js';
import { PostCallWebhooks } from './post-call-webhook.js';

// What a merchant's owner gets from the relay, assembled for startRelay: owner SMS (tools and the
// call side raise them), the post-call webhook (queued from each finished call's record) and call
// recording (started when a call's record is opened at stream start, its callbacks on a relay route).
// SMS and recording need the Twilio account (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN; SMS also
// TWILIO_PHONE_NUMBER as the sender); without it they are off and say so once.

export { recordingNotice, RECORDING_STATUS_PATH, type RecordingStart } from './call-recordings.js';
export type { OwnerEvent } from './owner-events.js';
export type { NotifyOutcome, NotifyOwner } from './owner-sms.js';

export interface TwilioAccount {
  accountSid: string;
  authToken: string;
  /** Sender of owner SMS; without it owner SMS are off. */
  from: string | undefined;
  apiBaseUrl: string | undefined;
}

/** The Twilio REST account from the environment, or null when TWILIO_ACCOUNT_SID or TWILIO_AUTH_TOKEN is unset. */
export function twilioAccountFromEnv(env: EnvSource): TwilioAccount | null {
  return readEnv(env, (r) => {
    const accountSid = r.get('TWILIO_ACCOUNT_SID');
    const authToken = r.get('TWILIO_AUTH_TOKEN');
    if (accountSid === undefined || authToken === undefined) return null;
    return { accountSid, authToken, from: r.get('TWILIO_PHONE_NUMBER'), apiBaseUrl: r.get('TWILIO_API_BASE_URL') };
  });
}

export interface OwnerServicesDeps {
  config: Config;
  env: EnvSource;
  store: Store;
  /** Read when a job runs (the relay's directory is built after this). */
  directory: () => MerchantDirectory | undefined;
  /** DATA_DIR; the queues live in <dataDir>/outbox. */
  dataDir: string;
  /** Default: from the environment. */
  twilio?: TwilioClient | null;
  /** How webhooks are POSTed; default the global fetch. */
  webhookFetch?: typeof fetch;
}

export interface OwnerServices {
  /** Owner SMS; what the tools get, and what the call side calls for a failed transfer. */
  notifyOwner: NotifyOwner;
  recordings: CallRecordings | null;
  /** The call-record sink with the owner's parts hooked in: recording at a call's start, the webhook after. */
  wrapSink(sink: RecordingSink): RecordingSink;
  /** Mounts POST /twilio/recording-status. */
  routes(app: TemplatedApp, webhook: FormWebhookDeps): void;
  depth(): number;
  flush(timeoutMs: number): Promise<number>;
  close(): Promise<void>;
}

const olog = log.child({ mod: 'owner' });

export async function installOwnerServices(deps: OwnerServicesDeps): Promise<OwnerServices> {
  const account = twilioAccountFromEnv(deps.env);
  const client =
    deps.twilio === undefined
      ? account
        ? createTwilioClient({
            accountSid: account.accountSid,
            authToken: account.authToken,
            apiBaseUrl: account.apiBaseUrl,
          })
        : null
      : deps.twilio;
  const dir = join(deps.dataDir, 'outbox');
  const sms = client && account?.from ? await OwnerSms.open({ client, from: account.from, dir }) : null;
  const text = readEnv(deps.env, (r) => ({
    openai: { apiKey: r.get('OPENAI_API_KEY'), baseUrl: r.get('OPENAI_BASE_URL'), model: r.get('OPENAI_TEXT_MODEL') },
    xai: { apiKey: r.get('XAI_API_KEY'), baseUrl: r.get('XAI_BASE_URL'), model: r.get('XAI_TEXT_MODEL') },
  }));
  const directory = (): MerchantDirectory => {
    const d = deps.directory();
    if (!d) throw new Error('merchant directory not ready');
    return d;
  };
  const webhooks = await PostCallWebhooks.open({
    directory: {
      byId: (id) => directory().byId(id),
      byNumber: (n) => directory().byNumber(n),
      fallback: () => directory().fallback(),
    },
    dir,
    writeSummary: createSummaryWriter({ defaultProvider: deps.config.provider, ...text }),
    recordingOf: (callSid) => deps.store.getCallRecording(callSid),
    fetch: deps.webhookFetch,
  });
  const recordings = client
    ? new CallRecordings({ client, store: deps.store, publicHost: deps.config.publicHost })
    : null;
  const warned = new Set<string>();
  const warnOnce = (what: string, merchantId: string) => {
    if (warned.has(what)) return;
    warned.add(what);
    olog.warn({ merchant: merchantId }, what);
  };

  const notifyOwner: NotifyOwner = async (merchant, event) => {
    if (!merchant.ownerNotifications) return 'off';
    if (!sms) {
      warnOnce('owner SMS are off: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_PHONE_NUMBER', merchant.id);
      return 'unconfigured';
    }
    return sms.notify(merchant, event);
  };

  const startRecording = async (merchantId: string, callSid: string): Promise<void> => {
    const merchant = await directory()
      .byId(merchantId)
      .catch(() => undefined);
    if (!merchant?.recording) return;
    if (!recordings) {
      warnOnce('call recording is off: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN', merchant.id);
      return;
    }
    await recordings.start(merchant, callSid);
  };

  return {
    notifyOwner,
    recordings,
    wrapSink(sink) {
      return {
        started(record) {
          sink.started?.(record);
          if (record.merchantId) void startRecording(record.merchantId, record.callSid).catch(() => undefined);
        },
        async write(record) {
          const outcome = await sink.write(record);
          // Queued whatever the database did: the record is in the durable outbox either way.
          await webhooks.callRecorded(record);
          return outcome;
        },
      };
    },
    routes(app, webhook) {
      recordings?.mount(app, webhook);
    },
    depth: () => (sms?.depth() ?? 0) + webhooks.depth(),
    async flush(timeoutMs) {
      const [a, b] = await Promise.all([sms?.flush(timeoutMs) ?? 0, webhooks.flush(timeoutMs)]);
      return a + b;
    },
    async close() {
      await sms?.close();
      await webhooks.close();
    },
  };
}
