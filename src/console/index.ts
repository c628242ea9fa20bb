import { Gauge, Histogram } from 'prom-client';
import { callMachine } from '../../machines/call.machine.js';
import type { Call } from '../call/call.js';
import type { Config, EnvSource } from '../config.js';
import { log } from '../log.js';
import type { RelayMetrics } from '../obs/metrics.js';
import type { TrustProxy } from '../security/client-ip.js';
import { InMemoryRateLimiter } from '../security/rate-limit.js';
import type { Store } from '../store/store.js';
import type { TemplatedApp } from '../transports/uws.js';
import { chartPicture } from './chart-svg.js';
import { consoleConfigFromEnv } from './console-config.js';
import { GoogleConnect } from './google-connect.js';
import { LiveHub } from './live-hub.js';
import { mountConsole } from './routes.js';
import { SessionKeys } from './session.js';
import { SignInCounter } from './sign-in.js';

// The console, put together for a running relay (src/app.ts): off unless CONSOLE_TOKEN is set, and
// only with a store (its pages read calls, messages and appointments from it).

/** Sign-in attempts per client IP: 10, then one every 6 seconds. */
export const SIGN_IN_PER_IP = { capacity: 10, refillPerSecond: 10 / 60 };

export interface ConsoleInstall {
  routes(app: TemplatedApp): void;
  /** Relay's onCallState: marks the call changed for live viewers (cheap; see live-hub.ts). */
  onCallState(call: Call, state: string): void;
  close(): void;
}

export interface InstallConsoleOptions {
  config: Pick<Config, 'nodeEnv' | 'publicHost'>;
  env: EnvSource;
  store: Store | null;
  metrics: RelayMetrics;
  trustProxy: TrustProxy;
  /** The relay's live calls. */
  calls: () => Iterable<Call>;
}

export function installConsole(o: InstallConsoleOptions): ConsoleInstall | null {
  const config = consoleConfigFromEnv(o.env, o.config);
  if (!config) return null;
  if (!o.store) {
    log.warn('CONSOLE_TOKEN is set but the relay runs without a store: the console stays off');
    return null;
  }
  const store = o.store;
  const flushes = new Histogram({
    name: 'callrelay_console_flush_seconds',
    help: "Time one delivery of live-call changes to console viewers held the relay's event loop.",
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025],
    registers: [o.metrics.registry],
  });
  const hub = new LiveHub({ calls: o.calls, onFlush: (ms) => flushes.observe(ms / 1000) });
  new Gauge({
    name: 'callrelay_console_viewers',
    help: 'Console pages following live calls (open event streams).',
    registers: [o.metrics.registry],
    collect() {
      this.set(hub.viewerCount);
    },
  });
  const google = config.google
    ? new GoogleConnect(config.google, store, `${config.origin}/console/google/callback`)
    : null;
  log.info(
    { origin: config.origin, googleCalendar: google !== null },
    `console on at ${config.origin}/console (sign in with CONSOLE_TOKEN or an owner's link)`,
  );
  return {
    routes: (app) =>
      mountConsole(app, {
        config,
        store,
        hub,
        chart: chartPicture(callMachine),
        keys: new SessionKeys(config.token),
        signInLimiter: new InMemoryRateLimiter({ ...SIGN_IN_PER_IP, maxEntries: 100_000 }),
        counter: new SignInCounter(o.metrics),
        trustProxy: o.trustProxy,
        google,
      }),
    onCallState: (call, state) => hub.changed(call, state),
    close: () => hub.close(),
  };
}
