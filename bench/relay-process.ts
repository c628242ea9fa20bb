import { loadConfig } from '../src/config.js';
import { startRelay } from '../src/app.js';
import type { Call } from '../src/call/call.js';
import { StaticMerchantDirectory } from '../src/merchants/directory.js';
import { demoMerchant } from '../src/merchants/demo-merchant.js';
import {
  BENCH_PUBLIC_HOST,
  BENCH_TOOL,
  BENCH_TOOL_MS,
  MODEL_URL_ENV,
  encodeMessage,
  exitWith,
  memoryKiB,
  onCommands,
} from './child-protocol.js';

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
// One tool, a fixed 5 ms of work, for the tool round-trip phase (the load levels never call it).
const merchant = { ...demoMerchant, tools: [BENCH_TOOL] };
const relay = await startRelay(config, {
  store: null,
  directory: new StaticMerchantDirectory([merchant], merchant.id),
  onCallState: (s) => void sessions.add(s),
  toolSpecs: () => [
    { name: BENCH_TOOL, description: 'Benchmark tool.', parameters: { type: 'object', properties: {} } },
  ],
  runTool: async (call) => {
    await new Promise((r) => setTimeout(r, BENCH_TOOL_MS));
    return { callId: call.callId, ok: true, output: '{"ok":true}' };
  },
});

onCommands(() => {
  const bargeInMs: number[] = [];
  const toolMs: number[] = [];
  for (const s of sessions) {
    bargeInMs.push(...s.bargeInReactionMs);
    toolMs.push(...s.toolTiming.overheadMs);
  }
  process.stdout.write(
    encodeMessage({ bench: 'report', bargeInMs, toolMs, calls: relay.server.calls.size, memory: memoryKiB() }),
  );
});
exitWith(() => relay.close());
process.stdout.write(encodeMessage({ bench: 'ready', port: relay.port, pid: process.pid }));
