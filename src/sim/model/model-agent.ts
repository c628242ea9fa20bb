// The "agent" brain of the fake model: a small receptionist script so the relay can be demoed with no
// API key and load-tested without paying for tokens. It only decides what to say; the session does
// the talking. Everything it says or hears is labelled as simulated so nobody mistakes it for a model.
import type { ClientItem, ResponseCreateEvent } from './model-protocol.js';
import type { RespondOptions } from './model-response-shape.js';
import type { FunctionTool } from './model-session-config.js';

export interface AgentOptions {
  /** Said on the first response when response.create carries no instructions. */
  greeting?: string;
  /** Replies to caller turns, in order; the last two repeat once the script runs out. */
  lines?: string[];
  /** Delay of the simulated caller transcript after a committed turn (it is async for real). Default 400. */
  transcriptDelayMs?: number;
  /** Call a declared tool on every Nth caller turn (0 = never, the default). */
  toolCallEveryNTurns?: number;
  /** Call a declared tool on the turn after the caller pressed keys (relayed as user text). Default false. */
  toolCallOnDigits?: boolean;
  /** Load mode: the first response streams this many ms of audio at real pace (20 ms deltas). */
  streamMs?: number;
}

/** Why a response is being made. */
export interface ResponseRequest {
  trigger: 'client' | 'turn';
  /** The client's response.create (trigger 'client'). */
  event?: ResponseCreateEvent;
  /** The committed user item that ended the turn (trigger 'turn'). */
  itemId?: string;
}

export const DEFAULT_GREETING =
  'Thank you for calling. This is the demo assistant, a simulated voice with no real AI behind it. ' +
  'How can I help you today?';

export const DEFAULT_LINES: readonly string[] = [
  'Sure, I can help with that. Could I have your name, please?',
  'Thank you. And what is the best number to reach you on?',
  'Got it. I have noted your request, and someone from the team will follow up shortly.',
  'Is there anything else I can help you with today?',
];

const TOOL_RESULT_LINE =
  'Thanks for waiting. I have checked that for you, and everything looks fine. (simulated result)';
const TOOL_INTRO_LINE = 'One moment while I check that for you.';
const GOODBYE_LINE = 'Thank you for calling. Goodbye! (simulated)';
const TRANSFER_LINE = 'I am putting you through now, please hold. (simulated)';
const STREAM_LINE = 'This is a continuous simulated audio stream for load testing. ';
const DIGITS = /(?:press(?:ed)?|dtmf|digits?|keys?)\D{0,20}([0-9*#]+)|^\s*([0-9*#]+)\s*$/i;

/** Arguments a declared tool will accept: required properties filled with plausible simulated values. */
export function simulatedArguments(tool: FunctionTool, digits: string | undefined): string {
  const out: Record<string, string | number | boolean> = {};
  const params = tool.parameters;
  const props =
    params && typeof params.properties === 'object' && params.properties !== null && !Array.isArray(params.properties)
      ? params.properties
      : {};
  const required =
    params && Array.isArray(params.required) ? params.required.filter((r): r is string => typeof r === 'string') : [];
  for (const name of required) {
    const spec = props[name];
    const type = spec && typeof spec === 'object' && !Array.isArray(spec) ? spec.type : undefined;
    if (type === 'number' || type === 'integer') out[name] = 1;
    else if (type === 'boolean') out[name] = true;
    else out[name] = digits && /digit|key|dtmf|code|number/i.test(name) ? digits : 'simulated';
  }
  return JSON.stringify(out);
}

export class AgentBrain {
  private responses = 0;
  private turns = 0;
  private nextLine = 0;
  private pendingDigits: string | undefined;
  private toolResultPending = false;
  /** What the last tool output asked the agent to say (a transfer line, a goodbye), if anything. */
  private toolStatus: string | undefined;
  private streamed = false;

  constructor(private readonly opts: AgentOptions = {}) {}

  get transcriptDelayMs(): number {
    return this.opts.transcriptDelayMs ?? 400;
  }

  /** Watches what the client adds: tool results and keypad presses change the next answer. */
  noteItem(item: ClientItem): void {
    if (item.type === 'function_call_output') {
      this.toolResultPending = true;
      this.toolStatus = /"status":"(transferring|ending)"/.exec(item.output)?.[1];
    }
    if (item.type !== 'message' || item.role === 'assistant') return;
    for (const part of item.content) {
      if (part.type !== 'input_text') continue;
      const m = DIGITS.exec(part.text);
      if (m) this.pendingDigits = m[1] ?? m[2];
    }
  }

  /** A simulated caller transcript for a committed turn of `ms` audio. */
  callerTranscript(ms: number): string {
    return `(simulated transcript: caller spoke for ${(ms / 1000).toFixed(1)} s)`;
  }

  decide(req: ResponseRequest, tools: FunctionTool[]): RespondOptions {
    const first = this.responses === 0;
    this.responses++;
    if (req.trigger === 'turn') this.turns++;
    const streamMs = this.opts.streamMs ?? 0;
    if (streamMs > 0 && !this.streamed) {
      this.streamed = true;
      return { text: STREAM_LINE.repeat(3).trim(), audioMs: streamMs, continuous: true };
    }
    if (first && req.trigger === 'client') {
      const instructions = req.event?.response?.instructions?.trim();
      return { text: instructions ? lineToSay(instructions) : (this.opts.greeting ?? DEFAULT_GREETING) };
    }
    if (this.toolResultPending) {
      this.toolResultPending = false;
      if (this.toolStatus === 'ending') return { text: GOODBYE_LINE };
      if (this.toolStatus === 'transferring') return { text: TRANSFER_LINE };
      return { text: TOOL_RESULT_LINE };
    }
    // Keypad shortcuts for demos: 0 asks for a person, 9 ends the call.
    const control = this.callControl(tools);
    if (control) return control;
    const tool = tools[0];
    const every = this.opts.toolCallEveryNTurns ?? 0;
    const byDigits = this.opts.toolCallOnDigits === true && this.pendingDigits !== undefined;
    const byTurn = every > 0 && req.trigger === 'turn' && this.turns % every === 0;
    if (tool && (byDigits || byTurn)) {
      const digits = this.pendingDigits;
      this.pendingDigits = undefined;
      return {
        text: TOOL_INTRO_LINE,
        functionCalls: [{ name: tool.name, arguments: simulatedArguments(tool, digits) }],
      };
    }
    return { text: this.line() };
  }

  private callControl(tools: FunctionTool[]): RespondOptions | undefined {
    const digits = this.pendingDigits;
    const transfer = tools.find((t) => t.name === 'transferCall');
    const end = tools.find((t) => t.name === 'endCall');
    if (digits === '0' && transfer) {
      this.pendingDigits = undefined;
      // The first person the tool description names.
      const name = /"([^"]+)"/.exec(transfer.description)?.[1] ?? 'simulated';
      const args = JSON.stringify({ name, reason: 'A simulated caller asked for a person.' });
      return { text: 'Of course.', functionCalls: [{ name: 'transferCall', arguments: args }] };
    }
    if (digits === '9' && end) {
      this.pendingDigits = undefined;
      return { text: 'Alright.', functionCalls: [{ name: 'endCall', arguments: '{"reason":"caller pressed 9"}' }] };
    }
    return undefined;
  }

  private line(): string {
    const lines = this.opts.lines && this.opts.lines.length > 0 ? this.opts.lines : DEFAULT_LINES;
    const i =
      this.nextLine < lines.length
        ? this.nextLine
        : lines.length - 2 + ((this.nextLine - lines.length) % Math.min(2, lines.length));
    this.nextLine++;
    return lines[Math.max(0, i)] ?? DEFAULT_GREETING;
  }
}

/**
 * What a real model would say for response-level instructions: the quoted line if there is one
 * ('… Open the call by saying: "Thanks for calling …"'), else the instructions themselves.
 */
export function lineToSay(instructions: string): string {
  const quoted = instructions.match(/"([^"]{3,})"\s*\.?\s*$/);
  return `${quoted?.[1] ?? instructions} (simulated voice)`;
}
