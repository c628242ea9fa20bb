import { ConfigError, ConfigProblems, relayEnv } from './config.js';
import { loadStartupConfig, type StartupConfig } from './config/startup-config.js';
import { startRelay, type Relay } from './app.js';
import { installSms } from './sms/index.js';
import { log } from './log.js';

// Entry point: `npm start`. Configuration errors stop the process with one line per bad or missing
// variable, all of them at once, and exit code 2; never a stack trace.

function configurationErrors(err: unknown): readonly ConfigError[] | null {
  if (err instanceof ConfigProblems) return err.problems;
  if (err instanceof ConfigError) return [err];
  return null;
}

function exitOnConfigError(err: unknown): never {
  const problems = configurationErrors(err);
  if (!problems) throw err;
  for (const p of problems) process.stderr.write(`callrelay: configuration error: ${p.message}\n`);
  process.exit(2);
}

let startup: StartupConfig;
try {
  startup = loadStartupConfig(relayEnv());
} catch (err) {
  exitOnConfigError(err);
}
const { config, edge, sms: smsConfig } = startup;

log.level = config.logLevel;
// SMS group chats (Twilio Conversations) are on when TWILIO_ACCOUNT_SID is set.
let relayRef: Relay | undefined;
const sms = smsConfig ? await installSms({ config, sms: smsConfig, edge, directory: () => relayRef?.directory }) : null;
const relay = await startRelay(config, {
  edge,
  routes: sms?.routes,
  onCallEnded: sms?.onCallEnded,
  onClose: sms?.close,
  // Some settings can only fail when their part starts (the inspector's package): same one-line error.
}).catch(exitOnConfigError);
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
