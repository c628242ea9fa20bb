// Which WebSocket close code and reason the browser gets when the model side ends, and which code the
// model gets when the browser leaves. Codes 1005/1006/1015 only describe what a peer *observed* and
// must never be sent (RFC 6455 §7.4.1), so they, and anything else not sendable, become 1011.

/** Close codes a server may put on the wire and a browser accepts as a deliberate close. */
function isSendableServerCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true; // registered libraries / application-private
  // 1010 (mandatory extension) is a client-only code; 1004-1006 and 1015 are reserved.
  return (
    code === 1000 || code === 1001 || code === 1003 || (code >= 1007 && code <= 1009) || (code >= 1011 && code <= 1014)
  );
}

/** A close frame reason is at most 123 bytes of UTF-8; cut on a character boundary. */
export function clampReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let out = '';
  for (const ch of reason) {
    if (Buffer.byteLength(out + ch) > 120) break; // leaves room for the 3-byte '…'
    out += ch;
  }
  return `${out}…`;
}

export interface CloseFrame {
  code: number;
  reason: string;
}

/**
 * The browser-side close for a model close. A code the model chose deliberately (1000, 1001, 1008,
 * 4xxx, …) passes through with its reason, so the client sees what the model said (e.g. OpenAI's
 * 1001 "session hit the maximum duration"); an abnormal end becomes 1011.
 * @param everOpened false when the model socket failed before its handshake completed.
 */
export function browserCloseForModelClose(code: number, reason: string, everOpened: boolean): CloseFrame {
  if (!everOpened) return { code: 1011, reason: 'could not connect to the model' };
  if (isSendableServerCode(code)) return { code, reason: clampReason(reason || 'model closed the connection') };
  return { code: 1011, reason: 'model connection lost' };
}

/**
 * The model-side close when the browser leaves: its own deliberate code when a client may send it
 * (1000, 1001, 3000-4999), else a plain 1000, since "the browser vanished" is not the model's error.
 */
export function modelCloseForBrowserClose(code: number): number {
  return code === 1000 || code === 1001 || (code >= 3000 && code <= 4999) ? code : 1000;
}
