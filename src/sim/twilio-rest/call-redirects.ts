import { randomBytes } from 'node:crypto';
import { postSignedCallback, type DeliveredCallback, type ReachUrl } from './callbacks.js';

// What Twilio does when an application updates a live call (POST /Calls/{sid}.json): with `Twiml`
// the call leaves the TwiML it was in (a <Connect><Stream> sends `stop` and closes) and runs the new
// one; with `Status=completed` it hangs up. The TwiML understood is what a transfer uses: <Dial> with
// an `action`, `callerId`, `timeout` and one <Number url> (the whisper the person hears when they
// answer), then, after the dial, the action's answer: <Connect><Stream> with <Parameter>s (the call
// goes back to a stream) or <Hangup/>. Whether the person answers is the test's choice per number.
// Callbacks are signed and carry the parameters Twilio documents for <Dial action> (DialCallStatus,
// DialCallSid, DialCallDuration) and for the <Number url> request (the new leg's CallSid, with the
// original call as ParentCallSid).

/** How the dialled person's phone ends: answered (completed) or not. */
export type DialOutcome = 'completed' | 'busy' | 'no-answer' | 'failed';

/** A live call whose stream the imitation can end and start again (the simulated phone call). */
export interface RedirectableCall {
  readonly callSid: string;
  /** The call leaves its <Connect><Stream>: `stop`, then the socket closes. */
  leaveStream(): Promise<void>;
  /** TwiML connected the call to a stream again. */
  returnToStream(url: string, params: Record<string, string>): Promise<void>;
  /** The call is over (caller side hangs up). */
  end(): Promise<void>;
}

export interface DialAttempt {
  callSid: string;
  number: string;
  callerId: string | null;
  outcome: DialOutcome;
  dialCallSid: string;
  /** What the person heard before being connected (the whisper's <Say>), when they answered. */
  whisper: string | null;
  /** The <Dial action> callback as delivered, and the TwiML the application answered with. */
  action: DeliveredCallback | null;
  actionTwiml: string;
}

export interface CallRedirectOptions {
  authToken: string;
  accountSid: string;
  reach: ReachUrl;
  /** How a dialled number answers (default: nobody answers). */
  outcomeFor?: (number: string) => DialOutcome;
  /** How long the person's phone rings before a no-answer (default 300 ms: a test's time, not Twilio's 20 s). */
  ringMs?: number;
  /** How long an answered transfer's conversation lasts before the person hangs up (default 300 ms). */
  talkMs?: number;
}

type UpdateResult = { status: 200 } | { status: 404 | 400; code: number; message: string };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const unescapeXml = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([A-Za-z]+)="([^"]*)"/g)) out[m[1] ?? ''] = unescapeXml(m[2] ?? '');
  return out;
}

/** The <Connect><Stream> of an answer, if it has one. */
export function streamOf(twiml: string): { url: string; params: Record<string, string> } | null {
  const stream = /<Stream\b([^>]*)>([\s\S]*?)<\/Stream>|<Stream\b([^>]*)\/>/.exec(twiml);
  if (!stream) return null;
  const params: Record<string, string> = {};
  for (const p of (stream[2] ?? '').matchAll(/<Parameter\b([^>]*)\/?>/g)) {
    const a = attrs(p[1] ?? '');
    if (a.name) params[a.name] = a.value ?? '';
  }
  return { url: attrs(stream[1] ?? stream[3] ?? '').url ?? '', params };
}

export class CallRedirects {
  readonly dials: DialAttempt[] = [];
  private readonly calls = new Map<string, RedirectableCall>();
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly opts: CallRedirectOptions) {}

  register(call: RedirectableCall): void {
    this.calls.set(call.callSid, call);
  }

  /** POST /Calls/{sid}.json from the application; the TwiML runs after the answer, as on Twilio. */
  update(callSid: string, form: Record<string, string | string[]>): UpdateResult {
    const call = this.calls.get(callSid);
    if (!call)
      return { status: 404, code: 20404, message: `The requested resource /Calls/${callSid}.json was not found` };
    const twiml = typeof form.Twiml === 'string' ? form.Twiml : undefined;
    const status = typeof form.Status === 'string' ? form.Status : undefined;
    if (!twiml && status !== 'completed' && status !== 'canceled') {
      return { status: 400, code: 21218, message: 'Invalid call update: give Twiml, Url or Status' };
    }
    const work = (twiml ? this.run(call, twiml) : call.end()).catch(() => undefined);
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
    return { status: 200 };
  }

  /** Resolves once every redirect under way has played out (tests). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  private async run(call: RedirectableCall, twiml: string): Promise<void> {
    await call.leaveStream();
    const dial = /<Dial\b([^>]*)>([\s\S]*?)<\/Dial>/.exec(twiml);
    if (!dial) {
      if (streamOf(twiml)) return this.reconnect(call, twiml);
      return call.end();
    }
    const dialAttrs = attrs(dial[1] ?? '');
    const numberTag = /<Number\b([^>]*)>([^<]*)<\/Number>/.exec(dial[2] ?? '');
    const number = unescapeXml(numberTag?.[2] ?? '').trim();
    const outcome = this.opts.outcomeFor?.(number) ?? 'no-answer';
    const dialCallSid = `CA${randomBytes(16).toString('hex')}`;
    const attempt: DialAttempt = {
      callSid: call.callSid,
      number,
      callerId: dialAttrs.callerId ?? null,
      outcome,
      dialCallSid,
      whisper: null,
      action: null,
      actionTwiml: '',
    };
    this.dials.push(attempt);
    const whisperUrl = attrs(numberTag?.[1] ?? '').url;
    if (outcome === 'completed') {
      if (whisperUrl) attempt.whisper = await this.whisper(whisperUrl, call.callSid, dialCallSid, number);
      await sleep(this.opts.talkMs ?? 300);
    } else {
      await sleep(this.opts.ringMs ?? 300);
    }
    if (!dialAttrs.action) return outcome === 'completed' ? call.end() : undefined;
    const params: Record<string, string> = {
      AccountSid: this.opts.accountSid,
      CallSid: call.callSid,
      CallStatus: 'in-progress',
      DialCallStatus: outcome,
      DialCallSid: dialCallSid,
      DialCallDuration: outcome === 'completed' ? String(Math.ceil((this.opts.talkMs ?? 300) / 1000)) : '0',
    };
    const { delivered, body } = await this.post(dialAttrs.action, params);
    attempt.action = delivered;
    attempt.actionTwiml = body;
    if (streamOf(body)) return this.reconnect(call, body);
    return call.end();
  }

  private async reconnect(call: RedirectableCall, twiml: string): Promise<void> {
    const stream = streamOf(twiml);
    if (stream) await call.returnToStream(stream.url, stream.params);
  }

  /** The <Number url> request when the person answers; returns what they hear. */
  private async whisper(url: string, parent: string, leg: string, number: string): Promise<string | null> {
    const { body } = await this.post(url, {
      AccountSid: this.opts.accountSid,
      CallSid: leg,
      ParentCallSid: parent,
      To: number,
      CallStatus: 'in-progress',
      Direction: 'outbound-dial',
    });
    const say = /<Say\b[^>]*>([\s\S]*?)<\/Say>/.exec(body);
    return say ? unescapeXml(say[1] ?? '') : null;
  }

  /** A signed callback whose answer (TwiML) the imitation reads. */
  private async post(
    url: string,
    params: Record<string, string>,
  ): Promise<{ delivered: DeliveredCallback; body: string }> {
    let body = '';
    const delivered = await postSignedCallback(url, params, this.opts.authToken, this.opts.reach, async (res) => {
      body = await res.text();
    });
    return { delivered, body };
  }
}
