import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

// The client side of a WebSocket written for load, on a raw `net` socket: the handshake, text frames
// out and a frame reader in. Client frames must be masked; the masking key here is always zero,
// which XORs nothing, so a frame is its header followed by the text as is (one buffer, no copy of
// the payload through a mask). RFC 6455 wants an unpredictable key against proxy cache poisoning,
// which cannot arise on loopback, and a server cannot tell. Only what a load generator needs: text
// frames, ping answered with pong, close; no fragmentation out, none expected in.

export const OP_TEXT = 0x1;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;

/** Header length of a client frame carrying `len` payload bytes (mask key included). */
export function clientHeaderLength(len: number): number {
  return len < 126 ? 6 : len < 65_536 ? 8 : 14;
}

/** Writes a masked (zero-key) client frame header for `len` bytes at `buf[0…]`; returns its length. */
export function writeClientHeader(buf: Buffer, len: number, opcode = OP_TEXT): number {
  buf[0] = 0x80 | opcode;
  let at: number;
  if (len < 126) {
    buf[1] = 0x80 | len;
    at = 2;
  } else if (len < 65_536) {
    buf[1] = 0x80 | 126;
    buf.writeUInt16BE(len, 2);
    at = 4;
  } else {
    buf[1] = 0x80 | 127;
    buf.writeUInt32BE(0, 2);
    buf.writeUInt32BE(len, 6);
    at = 10;
  }
  buf.writeUInt32BE(0, at); // the zero masking key
  return at + 4;
}

/** A whole client text frame for an ASCII/latin1 string (the generator's messages are ASCII). */
export function clientTextFrame(text: string): Buffer {
  const len = text.length;
  const buf = Buffer.allocUnsafe(clientHeaderLength(len) + len);
  const at = writeClientHeader(buf, len);
  buf.write(text, at, 'latin1');
  return buf;
}

/** Server frames (unmasked) out of a byte stream, split or coalesced however TCP delivers them. */
export class FrameReader {
  private pending: Buffer | null = null;

  constructor(private readonly onFrame: (opcode: number, data: Buffer, start: number, end: number) => void) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let at = 0;
    while (buf.length - at >= 2) {
      const b0 = buf[at] as number;
      const b1 = buf[at + 1] as number;
      let len = b1 & 0x7f;
      let head = 2;
      if (len === 126) {
        if (buf.length - at < 4) break;
        len = buf.readUInt16BE(at + 2);
        head = 4;
      } else if (len === 127) {
        if (buf.length - at < 10) break;
        len = buf.readUInt32BE(at + 6);
        head = 10;
      }
      if (b1 & 0x80) head += 4; // a masked server frame is a protocol error; skip the key rather than misread
      if (buf.length - at < head + len) break;
      this.onFrame(b0 & 0x0f, buf, at + head, at + head + len);
      at += head + len;
    }
    // A copy: `chunk` may be the shared read buffer (openWebSocket), overwritten by the next read.
    if (at < buf.length) this.pending = Buffer.from(buf.subarray(at));
  }
}

export interface HandshakeOptions {
  port: number;
  path: string;
  headers: Record<string, string>;
  timeoutMs?: number;
}

/**
 * One read buffer for every generator socket (`net`'s `onread`): a read lands here instead of in a
 * new Buffer per chunk, and is parsed before the next read. Whatever outlives the callback is copied.
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

export interface OpenedWebSocket {
  socket: Socket;
  /** Sets who reads the socket's bytes from now on (bytes that arrived first are handed over at once). */
  setReader(read: (chunk: Buffer) => void): void;
}

/** Opens a socket and upgrades it; resolves once the server said 101. */
export function openWebSocket(o: HandshakeOptions): Promise<OpenedWebSocket> {
  return new Promise((resolve, reject) => {
    let onChunk: (chunk: Buffer) => void = () => {};
    const socket = connect({
      host: '127.0.0.1',
      port: o.port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n) => {
          onChunk(READ_BUFFER.subarray(0, n));
          return true;
        },
      },
    });
    const timer = setTimeout(() => fail(new Error('WebSocket handshake timed out')), o.timeoutMs ?? 10_000);
    let head = Buffer.alloc(0);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', fail);
    socket.once('connect', () => {
      const extra = Object.entries(o.headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.write(
        `GET ${o.path} HTTP/1.1\r\nHost: 127.0.0.1:${o.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
      );
    });
    onChunk = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 8192) fail(new Error('WebSocket handshake: response head too long'));
        return;
      }
      socket.off('error', fail);
      clearTimeout(timer);
      const status = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
      if (!/^HTTP\/1\.1 101\b/.test(status)) {
        socket.destroy();
        reject(new Error(`WebSocket handshake refused: ${status}`));
        return;
      }
      // Until the reader is set, bytes are kept (copied: the read buffer is reused).
      const early: Buffer[] = [head.subarray(end + 4)];
      onChunk = (c) => void early.push(Buffer.from(c));
      resolve({
        socket,
        setReader: (read) => {
          onChunk = read;
          for (const c of early.splice(0)) if (c.length > 0) read(c);
        },
      });
    };
  });
}
