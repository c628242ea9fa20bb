import { performance } from 'node:perf_hooks';
import type { ToolOutput } from '../machines/call.types.js';
import type { ToolExecutor } from '../src/tools/tool.js';
import type { Merchant } from '../src/merchants/merchant.js';
import type { Call } from '../src/call/call.js';
import { percentile } from './proc-stats.js';

// Tool round-trip overhead added by the relay: from the fake model sending response.done (the relay
// starts tools once the response that asked for them is done) to the fake model receiving the
// function_call_output, minus the tool's own time. One real relay, one simulated call, a tool that
// takes a fixed 5 ms, N round trips one after another. Both loopback hops are included.
//
//   npx tsx bench/tool-overhead.ts [rounds=200]     → one line of JSON (p50/p99 in ms)

process.env.LOG_LEVEL ??= 'silent'; // before the relay's modules create their loggers

const TARGET_P99_MS = 2;
const TOOL_MS = 5;
const WARMUP = 20;

export interface ToolOverheadResult {
  rounds: number;
  toolMs: number;
  /** Relay overhead per round trip, ms. */
  p50: number;
  p99: number;
  max: number;
  /** The relay's own figure (src/call/tool-timing.ts), without the loopback hops and the fake model. */
  insideP50: number;
  insideP99: number;
  /** The two halves: response.done sent → tool invoked, and tool resolved → output received. */
  startP50: number;
  startP99: number;
  finishP50: number;
  finishP99: number;
  targetP99: number;
  pass: boolean;
}

export async function runToolOverhead(rounds = 200): Promise<ToolOverheadResult> {
  const { loadConfig } = await import('../src/config.js');
  const { startRelay } = await import('../src/app.js');
  const { MemoryCallRecorder } = await import('../src/call/recorder.js');
  const { StaticMerchantDirectory } = await import('../src/merchants/directory.js');
  const { demoMerchant } = await import('../src/merchants/demo-merchant.js');
  const { FakeModelServer } = await import('../src/sim/model/model-server.js');
  const { SimCaller } = await import('../src/sim/twilio/caller.js');

  const merchant: Merchant = { ...demoMerchant, tools: ['benchTool'] };
  const toolSpan = new Map<string, { start: number; end: number }>();
  const runTool: ToolExecutor = async (call) => {
    const start = performance.now();
    await new Promise((r) => setTimeout(r, TOOL_MS));
    toolSpan.set(call.callId, { start, end: performance.now() });
    const out: ToolOutput = { callId: call.callId, ok: true, output: '{"ok":true}' };
    return out;
  };
  const model = await FakeModelServer.start({ dialect: 'openai', mode: 'scripted' });
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    PUBLIC_HOST: 'relay.bench',
    METRICS_PORT: '0',
    PROVIDER: 'openai',
    OPENAI_API_KEY: 'sk-bench',
    OPENAI_REALTIME_URL: model.url,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
  });
  const states: string[] = [];
  const calls = new Set<Call>();
  const relay = await startRelay(config, {
    store: null,
    recorder: new MemoryCallRecorder(),
    directory: new StaticMerchantDirectory([merchant], merchant.id),
    runTool,
    toolSpecs: () => [
      { name: 'benchTool', description: 'Benchmark tool.', parameters: { type: 'object', properties: {} } },
    ],
    onCallState: (c, st) => {
      calls.add(c);
      states.push(st);
    },
  });
  const next = model.nextSession(5000);
  const caller = await SimCaller.connect({
    url: `ws://127.0.0.1:${relay.port}/media-stream`,
    customParameters: { merchantId: merchant.id, callerPhone: '+14155550100', direction: 'inbound' },
    record: false,
  });
  const session = await next;
  session.onResponseCreate(() => ({ text: 'OK.', audioMs: 20, realtimeFactor: Infinity }));
  const until = async (fn: () => boolean, what: string): Promise<void> => {
    const end = Date.now() + 5000;
    while (!fn()) {
      if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  try {
    await until(() => states.at(-1) === 'session.listening', 'the greeting');
    const samples: number[] = [];
    const starts: number[] = [];
    const finishes: number[] = [];
    for (let i = 0; i < rounds + WARMUP; i++) {
      const callId = `call_bench_${i}`;
      const sent = session.received.length;
      await session.respond({
        text: 'x',
        audioMs: 20,
        realtimeFactor: Infinity,
        functionCalls: [{ name: 'benchTool', arguments: '{}', callId }],
      });
      const doneAt = performance.now(); // response.done has just been written to the socket
      const ev = await session.waitFor(
        'conversation.item.create',
        (e) => e.item.type === 'function_call_output' && e.item.call_id === callId,
        5000,
      );
      const outAt = performance.now();
      const span = toolSpan.get(callId);
      if (!span) throw new Error(`bench: the tool did not run for ${callId}`);
      if (i >= WARMUP) {
        samples.push(outAt - doneAt - (span.end - span.start));
        starts.push(span.start - doneAt);
        finishes.push(outAt - span.end);
      }
      // The answer after the tool plays out and the relay is listening again before the next round.
      const at = session.received.indexOf(ev);
      await until(
        () =>
          session.received.slice(Math.max(at, sent)).some((e) => e.type === 'response.create') &&
          session.activeResponseId === undefined &&
          states.at(-1) === 'session.listening',
        'the answer after the tool',
      );
    }
    const inside = [...calls].flatMap((c) => c.toolTiming.overheadMs).slice(WARMUP);
    return {
      rounds,
      toolMs: TOOL_MS,
      insideP50: round(percentile([...inside], 50)),
      insideP99: round(percentile([...inside], 99)),
      p50: round(percentile([...samples], 50)),
      p99: round(percentile([...samples], 99)),
      max: round(Math.max(...samples)),
      startP50: round(percentile([...starts], 50)),
      startP99: round(percentile([...starts], 99)),
      finishP50: round(percentile([...finishes], 50)),
      finishP99: round(percentile([...finishes], 99)),
      targetP99: TARGET_P99_MS,
      pass: percentile([...samples], 99) < TARGET_P99_MS,
    };
  } finally {
    await caller.drop().catch(() => undefined);
    await relay.close();
    await model.close();
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 200);
  const rounds = Number.isInteger(n) && n > 0 && n <= 10_000 ? n : 200;
  const result = await runToolOverhead(rounds);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
