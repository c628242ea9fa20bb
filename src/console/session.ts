import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

// Console sessions: a signed cookie (HMAC-SHA256 under a key derived from CONSOLE_TOKEN), so any
// instance can read it and a new CONSOLE_TOKEN signs everyone out. The cookie says who the viewer
// is (the operator, or one merchant's owner) and until when; it holds no secret of its own.

/** The operator, or the owner of one merchant signed in through one link (revoking it ends the session). */
export type Viewer = { kind: 'operator' } | { kind: 'merchant'; merchantId: string; linkId: string };

export interface Session {
  viewer: Viewer;
  /** Random id: the CSRF token is derived from it. */
  sid: string;
  /** Epoch seconds. */
  exp: number;
}

export const OPERATOR_SESSION_SECONDS = 12 * 3600;
export const MERCHANT_SESSION_SECONDS = 7 * 86_400;

const claims = z.object({
  v: z.union([
    z.object({ kind: z.literal('operator') }),
    z.object({ kind: z.literal('merchant'), merchantId: z.string().min(1).max(256), linkId: z.string().max(64) }),
  ]),
  sid: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
  exp: z.number().int(),
});

export class SessionKeys {
  private readonly key: Buffer;
  private readonly operatorDigest: Buffer;

  constructor(consoleToken: string) {
    this.key = createHash('sha256').update(`callrelay console session\0${consoleToken}`).digest();
    this.operatorDigest = createHash('sha256').update(consoleToken).digest();
  }

  /** Constant-time comparison with CONSOLE_TOKEN (digests first, so lengths do not leak). */
  isOperatorToken(candidate: string): boolean {
    return timingSafeEqual(createHash('sha256').update(candidate).digest(), this.operatorDigest);
  }

  issue(viewer: Viewer, seconds: number, now = Date.now()): { value: string; session: Session } {
    const session: Session = {
      viewer,
      sid: randomBytes(18).toString('base64url'),
      exp: Math.floor(now / 1000) + seconds,
    };
    const body = Buffer.from(JSON.stringify({ v: viewer, sid: session.sid, exp: session.exp })).toString('base64url');
    return { value: `${body}.${this.mac(body)}`, session };
  }

  /** The session a cookie value carries, or null: malformed, forged or expired. */
  read(value: string, now = Date.now()): Session | null {
    if (value.length > 1024) return null;
    const dot = value.indexOf('.');
    if (dot <= 0) return null;
    const body = value.slice(0, dot);
    const mac = Buffer.from(value.slice(dot + 1));
    const want = Buffer.from(this.mac(body));
    if (mac.length !== want.length || !timingSafeEqual(mac, want)) return null;
    let parsed: z.infer<typeof claims>;
    try {
      parsed = claims.parse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
    } catch {
      return null;
    }
    if (parsed.exp <= Math.floor(now / 1000)) return null;
    return { viewer: parsed.v, sid: parsed.sid, exp: parsed.exp };
  }

  /** The form token of a session's state-changing requests. */
  csrf(session: Session): string {
    return this.mac(`csrf\0${session.sid}`);
  }

  checkCsrf(session: Session, candidate: string | undefined): boolean {
    if (candidate === undefined) return false;
    const a = Buffer.from(candidate);
    const b = Buffer.from(this.csrf(session));
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private mac(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64url');
  }
}

/** Whether the viewer may see this merchant's data; anything else answers 404, as if it did not exist. */
export function canSee(viewer: Viewer, merchantId: string | null): boolean {
  switch (viewer.kind) {
    case 'operator':
      return true;
    case 'merchant':
      return merchantId === viewer.merchantId;
    default:
      return assertNever(viewer);
  }
}

function assertNever(x: never): never {
  throw new Error(`unhandled viewer ${JSON.stringify(x)}`);
}
