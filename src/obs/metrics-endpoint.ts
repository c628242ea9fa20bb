import { timingSafeEqual } from 'node:crypto';
import * as uWS from '../transports/uws.js';
import type { Config } from '../config.js';
import { log } from '../log.js';
import type { RelayMetrics } from './metrics.js';
import { rateLimit, readEdgeRequest } from '../http/edge-guard.js';
import { guard, write } from '../http/uws-http.js';
import { listenExclusive } from '../http/listen.js';
import type { TrustProxy } from '../security/client-ip.js';
import type { RateLimiter } from '../security/rate-limit.js';

// Where /metrics is served: on the main port behind `Authorization: Bearer METRICS_TOKEN`, or, with
// no token, only on METRICS_PORT bound to loopback (a sidecar or `fly proxy` scrapes it there).

export interface MetricsEndpoint {
  port: number | null;
  close(): void;
}

function serve(res: uWS.HttpResponse, metrics: RelayMetrics, state: { aborted: boolean } = guard(res)): void {
  metrics.text().then(
    (body) => !state.aborted && res.cork(() => res.writeHeader('Content-Type', metrics.contentType).end(body)),
    (err: unknown) => {
      log.error({ err }, 'metrics failed');
      if (!state.aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end());
    },
  );
}

function bearerMatches(header: string, token: string): boolean {
  const given = Buffer.from(header.replace(/^Bearer\s+/i, ''));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** The main port's HTTP limit: every /metrics request there takes from it, right token or not. */
export interface MetricsLimit {
  httpPerIp: RateLimiter;
  trust: TrustProxy;
}

export async function mountMetrics(
  app: uWS.TemplatedApp,
  config: Config,
  metrics: RelayMetrics,
  limit: MetricsLimit,
): Promise<MetricsEndpoint> {
  const token = config.metricsToken;
  if (token) {
    app.get('/metrics', (res, req) => {
      const r = readEdgeRequest(res, req, limit.trust);
      const authorization = req.getHeader('authorization');
      const state = guard(res);
      // Counted before the token is compared, so bearer guesses run into the limit.
      void rateLimit(limit.httpPerIp, r).then((limited) => {
        if (limited) return write(res, state, limited);
        if (!bearerMatches(authorization, token))
          return write(res, state, { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } });
        serve(res, metrics, state);
      });
    });
    return { port: null, close: () => {} };
  }
  const side = uWS.App();
  side.get('/metrics', (res) => serve(res, metrics));
  side.any('/*', (res) => {
    res.writeStatus('404 Not Found').end();
  });
  // Exclusive like the main port: a busy METRICS_PORT is reported, not shared.
  const listen = await listenExclusive(side, '127.0.0.1', config.metricsPort);
  if (!listen) {
    log.warn(
      { port: config.metricsPort },
      'metrics port busy; /metrics is not served (set METRICS_TOKEN or another METRICS_PORT)',
    );
    return { port: null, close: () => {} };
  }
  return { port: uWS.us_socket_local_port(listen), close: () => uWS.us_listen_socket_close(listen) };
}
