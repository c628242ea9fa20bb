import { timingSafeEqual } from 'node:crypto';
import * as uWS from '../transports/uws.js';
import type { Config } from '../config.js';
import { log } from '../log.js';
import type { RelayMetrics } from './metrics.js';

// Where /metrics is served: on the main port behind `Authorization: Bearer METRICS_TOKEN`, or, with
// no token, only on METRICS_PORT bound to loopback (a sidecar or `fly proxy` scrapes it there).

export interface MetricsEndpoint {
  port: number | null;
  close(): void;
}

function serve(res: uWS.HttpResponse, metrics: RelayMetrics): void {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  metrics.text().then(
    (body) => !aborted && res.cork(() => res.writeHeader('Content-Type', metrics.contentType).end(body)),
    (err: unknown) => {
      log.error({ err }, 'metrics failed');
      if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end());
    },
  );
}

function bearerMatches(header: string, token: string): boolean {
  const given = Buffer.from(header.replace(/^Bearer\s+/i, ''));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

export async function mountMetrics(
  app: uWS.TemplatedApp,
  config: Config,
  metrics: RelayMetrics,
): Promise<MetricsEndpoint> {
  const token = config.metricsToken;
  if (token) {
    app.get('/metrics', (res, req) => {
      if (!bearerMatches(req.getHeader('authorization'), token)) {
        res.writeStatus('401 Unauthorized').writeHeader('WWW-Authenticate', 'Bearer').end();
        return;
      }
      serve(res, metrics);
    });
    return { port: null, close: () => {} };
  }
  const side = uWS.App();
  side.get('/metrics', (res) => serve(res, metrics));
  side.any('/*', (res) => {
    res.writeStatus('404 Not Found').end();
  });
  const listen = await new Promise<uWS.us_listen_socket | false>((resolve) =>
    side.listen('127.0.0.1', config.metricsPort, resolve),
  );
  if (!listen) {
    log.warn(
      { port: config.metricsPort },
      'metrics port busy; /metrics is not served (set METRICS_TOKEN or another METRICS_PORT)',
    );
    return { port: null, close: () => {} };
  }
  return { port: uWS.us_socket_local_port(listen), close: () => uWS.us_listen_socket_close(listen) };
}
