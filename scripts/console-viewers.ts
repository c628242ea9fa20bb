import { connect as tcpConnect, type Socket } from 'node:net';

// Console viewers in a process of their own, for npm run console:viewer-latency: VIEWERS event
// streams read as a browser would, STALLED more whose answers are never read. Prints the number of
// events received once a second ("events N") so the measuring process need not parse any itself.
// Ends on SIGTERM or when its parent goes away.

const origin = process.env.CONSOLE_ORIGIN ?? '';
const cookie = process.env.CONSOLE_COOKIE ?? '';
const readers = Number(process.env.VIEWERS ?? 45);
const stalledCount = Number(process.env.STALLED ?? 5);
let events = 0;
const aborts: AbortController[] = [];
const stalled: Socket[] = [];

for (let i = 0; i < readers; i++) {
  const abort = new AbortController();
  aborts.push(abort);
  void fetch(`${origin}/console/live/events`, { headers: { cookie }, signal: abort.signal })
    .then(async (res) => {
      const reader = res.body?.getReader();
      const dec = new TextDecoder();
      for (;;) {
        const r = await reader?.read();
        if (!r || r.done) return;
        events += (dec.decode(r.value).match(/^event: /gm) ?? []).length;
      }
    })
    .catch(() => undefined);
}
const { port } = new URL(origin);
for (let i = 0; i < stalledCount; i++) {
  // A browser that stopped reading: the request is sent, the answer never read.
  const s = tcpConnect(Number(port), '127.0.0.1', () => {
    s.write(`GET /console/live/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: ${cookie}\r\n\r\n`);
    s.pause();
  });
  s.on('error', () => undefined);
  stalled.push(s);
}
const tick = setInterval(() => process.stdout.write(`events ${events}\n`), 1000);
const stop = (): void => {
  clearInterval(tick);
  for (const a of aborts) a.abort();
  for (const s of stalled) s.destroy();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);
setTimeout(stop, 10 * 60_000).unref();
