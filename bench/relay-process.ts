import { loadConfig } from '../src/config.js';
import { startRelay } from '../src/app.js';
import type { Call } from '../src/call/call.js';
import { StaticMerchantDirectory } from '../src/merchants/directory.js';
import { demoMerchant } from '../src/merchants/demo-merchant.js';
import { BENCH_PUBLIC_HOST, MODEL_URL_ENV, encodeMessage, exitWith, memoryKiB, onCommands } from './child-protocol.js';

// The real relay as a benchmark child: the production wiring (startRelay) against the generator's
// fake OpenAI GA model, so the measured process does exactly what it does in production. Prints
// its port as a `ready` line and runs until SIGTERM or until the generator's stdin closes.

const modelUrl = process.env[MODEL_URL_ENV];
if (!modelUrl) {
  process.stderr.write(`relay-process: ${MODEL_URL_ENV} is not set\n`);
  process.exit(2);
}

// Production settings: the edge (src/http/edge-config.ts) reads TWILIO_AUTH_TOKEN from this
// process's environment, which the generator sets, and signs every call it places.
const config = loadConfig({
  NODE_ENV: 'production',
  PROVIDER: 'openai',
  OPENAI_API_KEY: 'bench',
  OPENAI_REALTIME_URL: modelUrl,
  PORT: '0',
  HOST: '127.0.0.1',
  PUBLIC_HOST: BENCH_PUBLIC_HOST,
  METRICS_PORT: '0',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  MAX_CALL_SECONDS: String(4 * 3600),
});

// Sessions are kept for the barge-in report; a bench child lives for one level, so this is bounded.
// No store: the benchmark measures the data plane, and a database only acts at call start and end.
const sessions = new Set<Call>();
const relay = await startRelay(config, {
  store: null,
  directory: new StaticMerchantDirectory([demoMerchant], demoMerchant.id),
  onCallState: (s) => void sessions.add(s),
});

onCommands(() => {
  const bargeInMs: number[] = [];
  for (const s of sessions) bargeInMs.push(...s.bargeInReactionMs);
  process.stdout.write(
    encodeMessage({ bench: 'report', bargeInMs, calls: relay.server.calls.size, memory: memoryKiB() }),
  );
});
exitWith(() => relay.close());
process.stdout.write(encodeMessage({ bench: 'ready', port: relay.port, pid: process.pid }));
