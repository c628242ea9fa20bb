import WebSocket from 'ws';

// Keep-alive for an outbound model socket. Proxies cut idle sockets after 60–100 s, so it pings; and
// a ping still unanswered at the next one means a half-open connection (no FIN, no RST: a dead NAT
// entry or peer), which TCP alone would notice only minutes later.

/** Pings every `everyMs`; calls `onDead` once if a ping goes unanswered. Returns the stop function. */
export function startHeartbeat(ws: WebSocket, everyMs: number, onDead: () => void): () => void {
  let answered = true;
  const onPong = () => {
    answered = true;
  };
  ws.on('pong', onPong);
  const timer = setInterval(() => {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (!answered) {
      stop();
      onDead();
      return;
    }
    answered = false;
    ws.ping();
  }, everyMs);
  timer.unref();
  function stop(): void {
    clearInterval(timer);
    ws.off('pong', onPong);
  }
  return stop;
}
