// What a fake model session talks through. A WebSocket session owns one socket for its life
// (WsTransport). A SIP call's session outlives its sideband sockets (one can drop and the application
// attach again while the call goes on), so the SIP imitation gives its sessions a transport that
// forwards to whichever sideband is attached (src/sim/openai-sip/sideband-hub.ts).
import type { RawData, WebSocket } from 'ws';

export interface TransportHandlers {
  message(data: RawData, isBinary: boolean): void;
  error(err: Error): void;
  /** The session is over: its socket closed (SIP: the call ended). Called once. */
  closed(code: number, reason: string): void;
}

export interface SessionTransport {
  /** The session can still send: the socket is open (SIP: the call is up, attached or not). */
  readonly isOpen: boolean;
  /** Text frames; a Buffer goes as a binary frame. */
  send(data: string | Buffer): void;
  /** Ends the session with a close frame. */
  close(code: number, reason: string): void;
  /** Ends the session abruptly, without a close frame. */
  terminate(): void;
  /** Called once, by the session's constructor. */
  bind(handlers: TransportHandlers): void;
}

export class WsTransport implements SessionTransport {
  constructor(private readonly ws: WebSocket) {}

  get isOpen(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  send(data: string | Buffer): void {
    this.ws.send(data);
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }

  bind(h: TransportHandlers): void {
    this.ws.once('close', (code, reason) => h.closed(code, reason.toString()));
    this.ws.on('message', (data, isBinary) => h.message(data, isBinary));
    this.ws.on('error', (err) => h.error(err));
  }
}
