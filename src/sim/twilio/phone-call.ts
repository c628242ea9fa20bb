import { randomBytes } from 'node:crypto';
import twilio from 'twilio';
import type { RedirectableCall } from '../twilio-rest/call-redirects.js';
import { SimCaller, type SimCallerOptions } from './caller.js';

// One phone call as the caller lives it, across the streams Twilio opens for it: the first
// <Connect><Stream>, and after a redirect (a transfer nobody answered) a new stream for the same
// CallSid with the parameters the new TwiML gave. Each stream is a SimCaller; `legs` keeps them all.

export interface PhoneCallOptions extends Omit<SimCallerOptions, 'url' | 'callSid' | 'headers'> {
  /** ws:// URL of the relay's media-stream endpoint (where wss://PUBLIC_HOST/media-stream really is). */
  url: string;
  /** Set: every stream upgrade is signed as Twilio signs it (wss://PUBLIC_HOST/media-stream). */
  twilioAuthToken?: string;
  publicHost?: string;
}

export class SimPhoneCall implements RedirectableCall {
  readonly callSid = `CA${randomBytes(16).toString('hex')}`;
  readonly legs: SimCaller[] = [];
  private ended = false;
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly opts: PhoneCallOptions) {}

  static async dial(opts: PhoneCallOptions): Promise<SimPhoneCall> {
    const call = new SimPhoneCall(opts);
    await call.open(opts.customParameters ?? {});
    return call;
  }

  /** The stream the caller is on now. */
  get current(): SimCaller {
    const leg = this.legs.at(-1);
    if (!leg) throw new Error('no stream yet');
    return leg;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Resolves when a stream after the first one (the call came back) is open. */
  nextLeg(timeoutMs = 10_000): Promise<SimCaller> {
    const have = this.legs.length;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no new stream within ${timeoutMs} ms`)), timeoutMs);
      const check = () => {
        const leg = this.legs[have];
        if (!leg) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(leg);
      };
      this.waiters.add(check);
      check();
    });
  }

  async leaveStream(): Promise<void> {
    const leg = this.legs.at(-1);
    if (leg && leg.state !== 'closed') await leg.hangUp();
  }

  async returnToStream(_url: string, params: Record<string, string>): Promise<void> {
    if (this.ended) return;
    await this.open(params);
  }

  async end(): Promise<void> {
    this.ended = true;
    const leg = this.legs.at(-1);
    if (leg && leg.state !== 'closed') await leg.hangUp();
  }

  private async open(params: Record<string, string>): Promise<void> {
    const { twilioAuthToken, publicHost, ...rest } = this.opts;
    const headers: Record<string, string> = {};
    if (twilioAuthToken && publicHost) {
      headers['X-Twilio-Signature'] = twilio.getExpectedTwilioSignature(
        twilioAuthToken,
        `wss://${publicHost}/media-stream`,
        {},
      );
    }
    const leg = await SimCaller.connect({ ...rest, customParameters: params, callSid: this.callSid, headers });
    this.legs.push(leg);
    for (const w of [...this.waiters]) w();
  }
}
