import { ConfigError, loadConfig, type Config } from './config.js';
import { loadEdgeConfig, type EdgeConfig } from './http/edge-config.js';
import { defaultRegionFromEnv, googleConfigFromEnv } from './tools/index.js';
import { startRelay, type Relay } from './app.js';
import { installSms, loadSmsConfig, type SmsConfig } from './sms/index.js';
import { log } from './log.js';

// Entry point: `npm start`. Configuration errors stop the process with one line naming the variable.

let config: Config;
let edge: EdgeConfig;
let smsConfig: SmsConfig | null;
try {
  config = loadConfig();
  edge = loadEdgeConfig(process.env, config);
  googleConfigFromEnv(process.env);
  defaultRegionFromEnv(process.env);
  smsConfig = loadSmsConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`callrelay: configuration error: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

log.level = config.logLevel;
// SMS group chats (Twilio Conversations) are on when TWILIO_ACCOUNT_SID is set.
let relayRef: Relay | undefined;
const sms = smsConfig ? await installSms({ config, sms: smsConfig, edge, directory: () => relayRef?.directory }) : null;
const relay = await startRelay(config, {
  edge,
  routes: sms?.routes,
  onCallEnded: sms?.onCallEnded,
  onClose: sms?.close,
}).catch((err: unknown) => {
  // Some settings are only checked when their part starts (inspector, store): same one-line error.
  if (err instanceof ConfigError) {
    process.stderr.write(`callrelay: configuration error: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
});
relayRef = relay;
log.info(
  { port: relay.port, publicHost: config.publicHost, provider: config.provider, simulated: config.simulated },
  `callrelay listening on :${relay.port} (Twilio stream: wss://${config.publicHost}/media-stream)`,
);
if (config.simulated) {
  process.stdout.write(
    `\n  callrelay is running with the SIMULATED AGENT (no OPENAI_API_KEY / XAI_API_KEY set).\n` +
      `  Place a simulated call:  npm run simulate -- --url ws://localhost:${relay.port}/media-stream\n\n`,
  );
}

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, drainSeconds: config.drainSeconds }, 'shutting down: draining live calls');
    relay.shutdown(config.drainSeconds).then(
      () => {
        log.info('drained; exiting');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
