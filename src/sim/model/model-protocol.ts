// Typed parse of the client events a realtime model server receives (OpenAI GA vocabulary, plus xAI's
// force_message). Untrusted JSON becomes a discriminated union here; whatever the real API would reject
// becomes a ProtocolError carrying the code/message/param the real server sends, so the session answers
// with an `error` event and stays open, as both real APIs do.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export type Dialect = 'openai' | 'xai';

/** A rejected client event, rendered as `{type:"error", error:{type, code, message, param, event_id}}`. */
export class ProtocolError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly errorType: 'invalid_request_error' | 'server_error' = 'invalid_request_error',
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Any event the fake server sends; serialised with JSON.stringify as is. */
export type ServerEvent = { type: string } & { [key: string]: unknown };

export interface ErrorBody {
  type: 'invalid_request_error' | 'server_error';
  code: string | null;
  message: string;
  param: string | null;
  event_id: string | null;
}

export type ClientContentPart =
  | { type: 'input_text'; text: string }
  | { type: 'input_audio'; audio?: string; transcript?: string }
  | { type: 'output_text'; text: string };

export type ClientItem =
  | { type: 'message'; id?: string; role: 'user' | 'system' | 'assistant'; content: ClientContentPart[] }
  | { type: 'function_call_output'; id?: string; call_id: string; output: string }
  | { type: 'function_call'; id?: string; call_id: string; name: string; arguments: string }
  /** xAI only: speak `text` verbatim without a response.create. */
  | { type: 'force_message'; id?: string; text: string; interruptible: boolean; voice?: string };

export interface ResponseParams {
  instructions?: string;
  output_modalities?: ('audio' | 'text')[];
  /** "none" = out-of-band response whose items are not added to the conversation. */
  conversation?: string;
  metadata?: JsonObject | null;
}

interface Base {
  event_id?: string;
}
export interface SessionUpdateEvent extends Base {
  type: 'session.update';
  session: JsonObject;
}
export interface AppendEvent extends Base {
  type: 'input_audio_buffer.append';
  audio: string;
}
export interface CommitEvent extends Base {
  type: 'input_audio_buffer.commit';
}
export interface ClearEvent extends Base {
  type: 'input_audio_buffer.clear';
}
export interface ItemCreateEvent extends Base {
  type: 'conversation.item.create';
  previous_item_id?: string | null;
  item: ClientItem;
}
export interface ItemTruncateEvent extends Base {
  type: 'conversation.item.truncate';
  item_id: string;
  content_index: number;
  audio_end_ms: number;
}
export interface ItemDeleteEvent extends Base {
  type: 'conversation.item.delete';
  item_id: string;
}
export interface ItemRetrieveEvent extends Base {
  type: 'conversation.item.retrieve';
  item_id: string;
}
export interface ResponseCreateEvent extends Base {
  type: 'response.create';
  response?: ResponseParams;
}
export interface ResponseCancelEvent extends Base {
  type: 'response.cancel';
  response_id?: string;
}

export type ClientEvent =
  | SessionUpdateEvent
  | AppendEvent
  | CommitEvent
  | ClearEvent
  | ItemCreateEvent
  | ItemTruncateEvent
  | ItemDeleteEvent
  | ItemRetrieveEvent
  | ResponseCreateEvent
  | ResponseCancelEvent;

export type ClientEventType = ClientEvent['type'];

export type ParseResult = { ok: true; event: ClientEvent } | { ok: false; error: ErrorBody };

// Top-level fields each event may carry. GA rejects anything else ("Unknown parameter"); xAI is lenient.
const FIELDS: Record<ClientEventType, readonly string[]> = {
  'session.update': ['session'],
  'input_audio_buffer.append': ['audio'],
  'input_audio_buffer.commit': [],
  'input_audio_buffer.clear': [],
  'conversation.item.create': ['previous_item_id', 'item'],
  'conversation.item.truncate': ['item_id', 'content_index', 'audio_end_ms'],
  'conversation.item.delete': ['item_id'],
  'conversation.item.retrieve': ['item_id'],
  'response.create': ['response'],
  'response.cancel': ['response_id'],
};
const EVENT_TYPES = Object.keys(FIELDS) as ClientEventType[];
// Precomputed so the per-append path (50 a second per call) allocates no field lists.
const ALLOWED = new Map<string, readonly string[]>(EVENT_TYPES.map((t) => [t, ['type', 'event_id', ...FIELDS[t]]]));
const RESPONSE_FIELDS = [
  'audio',
  'conversation',
  'input',
  'instructions',
  'max_output_tokens',
  'metadata',
  'output_modalities',
  'parallel_tool_calls',
  'prompt',
  'reasoning',
  'tool_choice',
  'tools',
];

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEventType(t: string): t is ClientEventType {
  return Object.hasOwn(FIELDS, t);
}

/** "'a', 'b', and 'c'": the real API's enumeration style in "Supported values are: …". */
export function listValues(values: readonly (string | number)[]): string {
  const q = values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v)));
  if (q.length <= 1) return q.join('');
  if (q.length === 2) return `${q[0]} and ${q[1]}`;
  return `${q.slice(0, -1).join(', ')}, and ${q[q.length - 1]}`;
}

export function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a decimal';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'boolean') return 'a boolean';
  if (typeof v === 'object') return 'an object';
  return typeof v;
}

export function missing(param: string): ProtocolError {
  return new ProtocolError('missing_required_parameter', `Missing required parameter: '${param}'.`, param);
}
export function wrongType(param: string, expected: string, got: unknown): ProtocolError {
  return new ProtocolError(
    'invalid_type',
    `Invalid type for '${param}': expected ${expected}, but got ${describeType(got)} instead.`,
    param,
  );
}
export function invalidValue(
  param: string,
  got: string | number,
  supported: readonly (string | number)[],
): ProtocolError {
  const shown = typeof got === 'string' ? `'${got}'` : String(got);
  return new ProtocolError(
    'invalid_value',
    `Invalid value: ${shown}. Supported values are: ${listValues(supported)}.`,
    param,
  );
}
export function unknownParam(param: string): ProtocolError {
  return new ProtocolError('unknown_parameter', `Unknown parameter: '${param}'.`, param);
}

/** Rejects keys outside `allowed` (GA strictness). `prefix` is the param path of `obj` ('' at top level). */
export function rejectUnknown(obj: JsonObject, allowed: readonly string[], prefix: string): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) throw unknownParam(prefix ? `${prefix}.${k}` : k);
}

function reqString(obj: JsonObject, key: string, param: string): string {
  const v = obj[key];
  if (v === undefined) throw missing(param);
  if (typeof v !== 'string') throw wrongType(param, 'a string', v);
  return v;
}
function optString(obj: JsonObject, key: string, param: string): string | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw wrongType(param, 'a string', v);
  return v;
}
function reqInt(obj: JsonObject, key: string, param: string): number {
  const v = obj[key];
  if (v === undefined) throw missing(param);
  if (typeof v !== 'number' || !Number.isInteger(v)) throw wrongType(param, 'an integer', v);
  if (v < 0)
    throw new ProtocolError(
      'integer_below_min_value',
      `Invalid '${param}': integer below minimum value. Expected a value >= 0, but got ${v} instead.`,
      param,
    );
  return v;
}
function reqObject(obj: JsonObject, key: string, param: string): JsonObject {
  const v = obj[key];
  if (v === undefined) throw missing(param);
  if (!isJsonObject(v)) throw wrongType(param, 'an object', v);
  return v;
}

const PART_TYPES: Record<'user' | 'system' | 'assistant', readonly string[]> = {
  user: ['input_text', 'input_audio'],
  system: ['input_text'],
  assistant: ['output_text'],
};

function parseContent(raw: Json | undefined, role: 'user' | 'system' | 'assistant'): ClientContentPart[] {
  if (raw === undefined) throw missing('item.content');
  if (!Array.isArray(raw)) throw wrongType('item.content', 'an array', raw);
  return raw.map((p, i): ClientContentPart => {
    const param = `item.content[${i}]`;
    if (!isJsonObject(p)) throw wrongType(param, 'an object', p);
    const t = reqString(p, 'type', `${param}.type`);
    const allowed = PART_TYPES[role];
    if (!allowed.includes(t)) throw invalidValue(`${param}.type`, t, allowed);
    if (t === 'input_audio') {
      const part: ClientContentPart = { type: 'input_audio' };
      const audio = optString(p, 'audio', `${param}.audio`);
      const transcript = optString(p, 'transcript', `${param}.transcript`);
      if (audio !== undefined) part.audio = audio;
      if (transcript !== undefined) part.transcript = transcript;
      return part;
    }
    const text = reqString(p, 'text', `${param}.text`);
    return t === 'input_text' ? { type: 'input_text', text } : { type: 'output_text', text };
  });
}

function parseItem(raw: JsonObject, dialect: Dialect): ClientItem {
  const type = reqString(raw, 'type', 'item.type');
  const id = optString(raw, 'id', 'item.id');
  const withId = <T extends ClientItem>(item: T): T => (id === undefined ? item : { ...item, id });
  switch (type) {
    case 'message': {
      const role = reqString(raw, 'role', 'item.role');
      if (role !== 'user' && role !== 'system' && role !== 'assistant')
        throw invalidValue('item.role', role, ['user', 'assistant', 'system']);
      return withId({ type: 'message', role, content: parseContent(raw.content, role) });
    }
    case 'function_call_output':
      return withId({
        type: 'function_call_output',
        call_id: reqString(raw, 'call_id', 'item.call_id'),
        output: reqString(raw, 'output', 'item.output'),
      });
    case 'function_call':
      return withId({
        type: 'function_call',
        call_id: reqString(raw, 'call_id', 'item.call_id'),
        name: reqString(raw, 'name', 'item.name'),
        arguments: reqString(raw, 'arguments', 'item.arguments'),
      });
    case 'force_message': {
      if (dialect !== 'xai') break;
      const content = raw.content;
      if (!Array.isArray(content) || content.length === 0) throw missing('item.content');
      const text = content
        .map((p, i) => (isJsonObject(p) ? reqString(p, 'text', `item.content[${i}].text`) : ''))
        .join('');
      const interruptible = raw.interruptible;
      const voice = optString(raw, 'voice', 'item.voice');
      const item: ClientItem = { type: 'force_message', text, interruptible: interruptible !== false };
      if (voice !== undefined) item.voice = voice;
      return withId(item);
    }
  }
  const supported = ['message', 'function_call', 'function_call_output'];
  throw invalidValue('item.type', type, dialect === 'xai' ? [...supported, 'force_message'] : supported);
}

function parseResponseParams(raw: JsonObject, dialect: Dialect): ResponseParams {
  if (dialect === 'openai') rejectUnknown(raw, RESPONSE_FIELDS, 'response');
  const out: ResponseParams = {};
  const instructions = optString(raw, 'instructions', 'response.instructions');
  if (instructions !== undefined) out.instructions = instructions;
  const conversation = optString(raw, 'conversation', 'response.conversation');
  if (conversation !== undefined) out.conversation = conversation;
  // xAI's cookbook still sends the beta name `modalities`.
  const modKey = raw.output_modalities !== undefined || dialect === 'openai' ? 'output_modalities' : 'modalities';
  const mods = raw[modKey];
  if (mods !== undefined) {
    if (!Array.isArray(mods)) throw wrongType(`response.${modKey}`, 'an array', mods);
    out.output_modalities = mods.map((m, i) => {
      if (m !== 'audio' && m !== 'text') throw invalidValue(`response.${modKey}[${i}]`, String(m), ['text', 'audio']);
      return m;
    });
  }
  const md = raw.metadata;
  if (md === null || isJsonObject(md)) out.metadata = md;
  return out;
}

function build(type: ClientEventType, raw: JsonObject, dialect: Dialect): ClientEvent {
  switch (type) {
    case 'session.update':
      return { type, session: reqObject(raw, 'session', 'session') };
    case 'input_audio_buffer.append':
      return { type, audio: reqString(raw, 'audio', 'audio') };
    case 'input_audio_buffer.commit':
    case 'input_audio_buffer.clear':
      return { type };
    case 'conversation.item.create': {
      const ev: ItemCreateEvent = { type, item: parseItem(reqObject(raw, 'item', 'item'), dialect) };
      const prev = raw.previous_item_id;
      if (prev === null) ev.previous_item_id = null;
      else if (prev !== undefined) ev.previous_item_id = reqString(raw, 'previous_item_id', 'previous_item_id');
      return ev;
    }
    case 'conversation.item.truncate':
      return {
        type,
        item_id: reqString(raw, 'item_id', 'item_id'),
        content_index: reqInt(raw, 'content_index', 'content_index'),
        audio_end_ms: reqInt(raw, 'audio_end_ms', 'audio_end_ms'),
      };
    case 'conversation.item.delete':
    case 'conversation.item.retrieve':
      return { type, item_id: reqString(raw, 'item_id', 'item_id') };
    case 'response.create': {
      const r = raw.response;
      if (r === undefined || r === null) return { type };
      if (!isJsonObject(r)) throw wrongType('response', 'an object', r);
      return { type, response: parseResponseParams(r, dialect) };
    }
    case 'response.cancel': {
      const id = optString(raw, 'response_id', 'response_id');
      return id === undefined ? { type } : { type, response_id: id };
    }
  }
}

export function errorBody(err: ProtocolError, eventId: string | null): ErrorBody {
  return { type: err.errorType, code: err.code, message: err.message, param: err.param, event_id: eventId };
}

/** Parses one text frame. Never throws: malformed input comes back as the error the real API sends. */
export function parseClientEvent(text: string, dialect: Dialect): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    const e = new ProtocolError(
      'invalid_json',
      'The server could not parse the event as JSON. Check that it is a valid JSON object.',
    );
    return { ok: false, error: errorBody(e, null) };
  }
  if (!isJsonObject(raw)) return { ok: false, error: errorBody(wrongType('event', 'an object', raw), null) };
  const eid = raw.event_id;
  const eventId = typeof eid === 'string' ? eid : null;
  try {
    const t = raw.type;
    if (t === undefined) throw missing('type');
    if (typeof t !== 'string') throw wrongType('type', 'a string', t);
    if (!isEventType(t)) throw invalidValue('type', t, EVENT_TYPES);
    if (eid !== undefined && typeof eid !== 'string') throw wrongType('event_id', 'a string', eid);
    if (dialect === 'openai') rejectUnknown(raw, ALLOWED.get(t) ?? [], '');
    const event = build(t, raw, dialect);
    if (eventId !== null) event.event_id = eventId;
    return { ok: true, event };
  } catch (err) {
    if (err instanceof ProtocolError) return { ok: false, error: errorBody(err, eventId) };
    throw err;
  }
}
