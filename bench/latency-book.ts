import { percentile } from './proc-stats.js';

// One-way latency of audio frames through a relay, measured without touching the relay: the sender
// writes a magic pair and a 32-bit id into the first 6 bytes of a 160-byte mu-law frame and notes
// when it sent it; the receiver (same process, same performance.now clock) reads the id back. The
// relay never decodes mu-law, so the bytes arrive as they left. Frames stamped but never seen are lost.

const MAGIC0 = 0xb5;
const MAGIC1 = 0x5b;
/** base64 of any stamped frame starts with these two characters (0xb5 0x5b → "tV…"). */
const B64_PREFIX = 'tV';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_VALUE[B64.charCodeAt(i)] = i;
/** The magic pair as the top 16 of the 48 bits the first 8 base64 characters carry. */
const MAGIC48 = (MAGIC0 * 256 + MAGIC1) * 2 ** 32;

/**
 * Writes the 8 base64 characters of a stamped frame's first 6 bytes (magic pair + id) at `out[at…]`,
 * so a sender with a pre-encoded frame stamps it without encoding anything else (6 bytes are two
 * whole base64 groups: the rest of the frame's base64 does not change).
 */
export function writeStampBase64(id: number, out: Uint8Array, at: number): void {
  const v = MAGIC48 + id;
  for (let k = 0; k < 8; k++) out[at + k] = B64.charCodeAt(Math.floor(v / 2 ** (42 - 6 * k)) % 64);
}

/** The id stamped in base64 text at `bytes[at…]` (8 characters), or 0 for an unstamped frame. */
export function stampedIdBase64(bytes: Uint8Array, at: number): number {
  if (bytes.length - at < 8) return 0;
  let v = 0;
  for (let k = 0; k < 8; k++) {
    const d = B64_VALUE[(bytes[at + k] as number) & 0x7f] as number;
    if (d < 0) return 0;
    v = v * 64 + d;
  }
  return v - MAGIC48 >= 0 && v - MAGIC48 < 2 ** 32 ? v - MAGIC48 : 0;
}

export interface LatencySummary {
  sent: number;
  received: number;
  lost: number;
  p50: number;
  p99: number;
  max: number;
  /** Frames that could not be stamped because the book was full (should be 0). */
  overflow: number;
  duplicates: number;
}

export class LatencyBook {
  private readonly sentAt: Float64Array;
  private readonly seen: Uint8Array;
  private readonly latencies: Float64Array;
  private count = 0;
  private nextId = 1;
  private overflow = 0;
  private duplicates = 0;

  /** capacity: the most frames this book will stamp (the measuring window's worth). */
  constructor(readonly capacity: number) {
    this.sentAt = new Float64Array(capacity + 1);
    this.seen = new Uint8Array(capacity + 1);
    this.latencies = new Float64Array(capacity);
  }

  /** Stamps `frame` (at least 6 bytes, a private copy) as sent now. */
  stamp(frame: Buffer, now: number): void {
    if (this.nextId > this.capacity || frame.length < 6) {
      this.overflow++;
      return;
    }
    const id = this.nextId++;
    frame[0] = MAGIC0;
    frame[1] = MAGIC1;
    frame.writeUInt32BE(id, 2);
    this.sentAt[id] = now;
  }

  /** Takes the next id for a frame sent now (0 when the book is full), for writeStampBase64. */
  stampId(now: number): number {
    if (this.nextId > this.capacity) {
      this.overflow++;
      return 0;
    }
    const id = this.nextId++;
    this.sentAt[id] = now;
    return id;
  }

  /** A frame arrived as base64 text at `bytes[at…]` (unstamped frames are ignored). */
  arrivedBase64At(bytes: Uint8Array, at: number, now: number): void {
    const id = stampedIdBase64(bytes, at);
    if (id !== 0) this.record(id, now);
  }

  /** A decoded frame arrived (unstamped frames are ignored). */
  arrived(bytes: Buffer, now: number): void {
    if (bytes.length < 6 || bytes[0] !== MAGIC0 || bytes[1] !== MAGIC1) return;
    this.record(bytes.readUInt32BE(2), now);
  }

  /** A base64 frame arrived: only its first 8 characters (6 bytes) are decoded. */
  arrivedBase64(b64: string, now: number): void {
    if (b64.length < 8 || !b64.startsWith(B64_PREFIX)) return;
    this.arrived(Buffer.from(b64.slice(0, 8), 'base64'), now);
  }

  summary(): LatencySummary {
    const lat = this.latencies.slice(0, this.count);
    const sent = this.nextId - 1;
    return {
      sent,
      received: this.count,
      lost: sent - this.count,
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      max: lat.length > 0 ? (lat[lat.length - 1] ?? Number.NaN) : Number.NaN, // sorted by percentile()
      overflow: this.overflow,
      duplicates: this.duplicates,
    };
  }

  private record(id: number, now: number): void {
    if (id === 0 || id >= this.nextId) return;
    if (this.seen[id] === 1) {
      this.duplicates++;
      return;
    }
    this.seen[id] = 1;
    this.latencies[this.count++] = now - (this.sentAt[id] ?? now);
  }
}
