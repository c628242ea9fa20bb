import twilio from 'twilio';

// How the Twilio imitation calls back into the application, the way Twilio does: a form POST to the
// URL the application gave, signed with X-Twilio-Signature over that URL and the parameters (HMAC-SHA1
// of the auth token). The URL the application gave is public (https://PUBLIC_HOST/…); `reach` maps
// it to where the relay really listens in a test, while the signature still covers the public one.

export interface DeliveredCallback {
  /** The URL as the application gave it (and as it was signed). */
  url: string;
  params: Record<string, string>;
  /** HTTP status the application answered, or 0 when it could not be reached. */
  status: number;
  at: number;
}

export type ReachUrl = (publicUrl: string) => string;

/** POSTs `params` to `url` signed as Twilio signs; resolves to the delivery as seen by Twilio. */
export async function postSignedCallback(
  url: string,
  params: Record<string, string>,
  authToken: string,
  reach: ReachUrl,
  /** Reads the answer (TwiML callbacks); default: drained unread. */
  read?: (res: Response) => Promise<void>,
): Promise<DeliveredCallback> {
  const signature = twilio.getExpectedTwilioSignature(authToken, url, params);
  let status = 0;
  try {
    const res = await fetch(reach(url), {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Twilio-Signature': signature,
        'User-Agent': 'TwilioProxy/1.1',
      },
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.timeout(15_000),
    });
    status = res.status;
    if (read) await read(res);
    else await res.arrayBuffer();
  } catch {
    status = 0;
  }
  return { url, params, status, at: Date.now() };
}
