import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';

// `npm run inspect-server`: a loopback-only relay between the relay process (INSPECT=1, which
// connects here with createWebSocketInspector) and a browser tab on this machine that shows the
// events in the Stately inspector (https://stately.ai/inspect, embedded in the page served here).
// @statelyai/inspect/server does the same but listens on every interface and shells out to
// xdg-open; this one binds 127.0.0.1, refuses other Host/Origin headers (DNS rebinding, other web
// pages) and keeps the last events for /events.jsonl, which works with no internet at all.

export const DEFAULT_INSPECT_PORT = 8089;
const STATELY_ORIGIN = 'https://stately.ai';
const KEEP_EVENTS = 1000;
const MAX_MESSAGE_BYTES = 1024 * 1024;

export interface InspectRelay {
  port: number;
  /** What INSPECT_URL should be for the relay process. */
  wsUrl: string;
  pageUrl: string;
  /** Events received from producers so far. */
  readonly received: number;
  close(): Promise<void>;
}

function page(port: number): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>callrelay inspector</title>
<style>
  html, body { height: 100%; margin: 0; font: 14px system-ui, sans-serif; }
  body { display: flex; flex-direction: column; }
  header { padding: 8px 12px; background: #f4f4f5; border-bottom: 1px solid #ddd; }
  iframe { flex: 1; border: 0; width: 100%; }
  code { background: #e4e4e7; padding: 0 4px; border-radius: 3px; }
</style></head>
<body>
<header>
  <strong>callrelay inspector relay</strong> (127.0.0.1:${port}) · <span id="status">connecting…</span><br>
  Start the relay with <code>INSPECT=1</code>
  (and <code>INSPECT_URL=ws://127.0.0.1:${port}</code> if you changed the port),
  then place a call (<code>npm run simulate -- --url ws://localhost:8080/media-stream</code>).
  Each call's actor appears below in the Stately inspector, which this tab loads from
  ${STATELY_ORIGIN}/inspect: this browser needs internet access, the relay does not.
  Phone numbers are masked and transcripts removed before anything leaves the relay.
  No internet here? <a href="/events.jsonl">/events.jsonl</a> has the last ${KEEP_EVENTS} events,
  or use <code>INSPECT=jsonl:./data/inspect</code>.
</header>
<iframe id="inspector" src="${STATELY_ORIGIN}/inspect"></iframe>
<script>
  const iframe = document.getElementById('inspector');
  const status = document.getElementById('status');
  const buffer = [];
  let ready = false, count = 0;
  const show = (s) => { status.textContent = s + ' · ' + count + ' events'; };
  window.addEventListener('message', (e) => {
    if (e.origin !== '${STATELY_ORIGIN}' || !e.data || e.data.type !== '@statelyai.connected') return;
    ready = true;
    for (const ev of buffer.splice(0)) iframe.contentWindow.postMessage(ev, '${STATELY_ORIGIN}');
    show('inspector ready');
  });
  const ws = new WebSocket('ws://' + location.host + '/');
  ws.onopen = () => show(ready ? 'inspector ready' : 'waiting for the Stately inspector to load');
  ws.onclose = () => show('relay closed: restart npm run inspect-server and reload');
  ws.onmessage = (m) => {
    count++;
    const ev = JSON.parse(m.data);
    if (ready) iframe.contentWindow.postMessage(ev, '${STATELY_ORIGIN}');
    else buffer.push(ev);
    show(ready ? 'inspector ready' : 'waiting for the Stately inspector to load');
  };
</script>
</body></html>`;
}

/** Start the loopback relay. `port` 0 picks a free one (tests). */
export async function startInspectRelay(opts: { port?: number } = {}): Promise<InspectRelay> {
  const kept: string[] = [];
  let received = 0;
  let port = opts.port ?? DEFAULT_INSPECT_PORT;
  // Only our own names: a DNS name rebound to 127.0.0.1 by some web page arrives with its own Host.
  const hostOk = (host: string | undefined): boolean => host === `127.0.0.1:${port}` || host === `localhost:${port}`;
  const originOk = (origin: string): boolean =>
    origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;

  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (!hostOk(req.headers.host)) {
      res.writeHead(421, { 'Content-Type': 'text/plain' }).end(`use http://127.0.0.1:${port}/\n`);
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(page(port));
    } else if (req.method === 'GET' && path === '/events.jsonl') {
      res
        .writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' })
        .end(kept.map((k) => `${k}\n`).join(''));
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    }
  });

  const viewers = new Set<WebSocket>();
  const wss = new WebSocketServer({
    server: http,
    maxPayload: MAX_MESSAGE_BYTES,
    // Node producers send no Origin; a browser always does, and only this relay's own page may connect.
    verifyClient: (info: { origin: string; req: IncomingMessage }) =>
      hostOk(info.req.headers.host) && (info.origin === undefined || info.origin === '' || originOk(info.origin)),
  });
  wss.on('connection', (ws, req) => {
    const isViewer = typeof req.headers.origin === 'string' && req.headers.origin !== '';
    if (isViewer) {
      viewers.add(ws);
      for (const k of kept) ws.send(k);
      ws.on('close', () => viewers.delete(ws));
      return;
    }
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      received++;
      kept.push(text);
      if (kept.length > KEEP_EVENTS) kept.shift();
      for (const v of viewers) if (v.readyState === WebSocket.OPEN) v.send(text);
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', () => resolve());
  });
  port = (http.address() as AddressInfo).port;
  return {
    port,
    wsUrl: `ws://127.0.0.1:${port}`,
    pageUrl: `http://127.0.0.1:${port}/`,
    get received() {
      return received;
    },
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

function parsePort(argv: string[], env: Record<string, string | undefined>): number {
  const i = argv.indexOf('--port');
  const raw = i >= 0 ? argv[i + 1] : env.INSPECT_PORT;
  if (raw === undefined || raw === '') return DEFAULT_INSPECT_PORT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new Error(`--port / INSPECT_PORT must be a port number, got ${JSON.stringify(raw)}`);
  return n;
}

async function main(): Promise<void> {
  const relay = await startInspectRelay({ port: parsePort(process.argv.slice(2), process.env) });
  process.stdout.write(
    `\n  Inspector relay listening on 127.0.0.1:${relay.port} (loopback only).\n\n` +
      `  1. Start callrelay with ` +
      `INSPECT=1${relay.port === DEFAULT_INSPECT_PORT ? '' : ` INSPECT_URL=${relay.wsUrl}`}` +
      '  (optionally INSPECT_CALLS=CA…)\n' +
      `  2. Open ${relay.pageUrl} in a browser on this machine (it embeds ${STATELY_ORIGIN}/inspect, so the\n` +
      `     browser needs internet access; on a remote box: ssh -L ${relay.port}:127.0.0.1:${relay.port} <host>)\n` +
      `  3. Place a call; its statechart appears live. Offline: ${relay.pageUrl}events.jsonl\n\n`,
  );
  const stop = () => {
    relay.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`inspect-server: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
