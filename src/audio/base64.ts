// Base64 audio payloads as both sockets carry them. Audio passes through as base64 text and is
// spliced into the other side's JSON without re-encoding, so it is checked, never decoded.

// Base64 alphabet only: anything else (quotes, backslashes) must never reach the other side's JSON.
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Alphabet and length: a 2-character "to" passes the alphabet but is not base64, and Twilio refuses
 * it (error 31951).
 */
export function isBase64(s: string): boolean {
  return s.length % 4 === 0 && BASE64.test(s);
}

/** Base64 payload length → decoded byte count, without decoding. */
export function base64ByteLength(b64: string): number {
  const n = b64.length;
  if (n === 0) return 0;
  const pad = b64.charCodeAt(n - 1) === 61 ? (b64.charCodeAt(n - 2) === 61 ? 2 : 1) : 0;
  return ((n * 3) >> 2) - pad;
}
