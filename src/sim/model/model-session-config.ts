// The server-side session object of a fake realtime model: defaults per dialect, validation of
// `session.update` the way each real API validates it (GA strict: `session.type` required, beta flat
// fields rejected; xAI lenient: `voice`/`turn_detection` at the top level), merging, and a typed view
// of what the rest of the fake needs (formats, VAD, tools, transcription).
import {
  ProtocolError,
  invalidValue,
  isJsonObject,
  missing,
  rejectUnknown,
  unknownParam,
  wrongType,
  type Dialect,
  type Json,
  type JsonObject,
} from './model-protocol.js';

export type AudioFormatType = 'audio/pcm' | 'audio/pcmu' | 'audio/pcma';
export interface AudioFormat {
  type: AudioFormatType;
  /** Sample rate: 8000 for pcmu/pcma. */
  rate: number;
}

export interface TurnDetection {
  type: 'server_vad' | 'semantic_vad';
  prefixPaddingMs: number;
  silenceMs: number;
  createResponse: boolean;
  interruptResponse: boolean;
}

export interface FunctionTool {
  name: string;
  description: string;
  parameters: JsonObject | null;
}

export interface SessionView {
  inputFormat: AudioFormat;
  outputFormat: AudioFormat;
  turnDetection: TurnDetection | null;
  transcription: boolean;
  tools: FunctionTool[];
  instructions: string;
  voice: string;
  outputModalities: ('audio' | 'text')[];
}

export const DEFAULT_SILENCE_MS = 500;
const DEFAULT_PREFIX_MS = 300;
const FORMAT_TYPES: readonly AudioFormatType[] = ['audio/pcm', 'audio/pcmu', 'audio/pcma'];
const GA_SESSION_FIELDS = [
  'type',
  'model',
  'output_modalities',
  'instructions',
  'audio',
  'include',
  'max_output_tokens',
  'prompt',
  'tool_choice',
  'tools',
  'tracing',
  'truncation',
  'reasoning',
  'parallel_tool_calls',
];
/** Nested objects session.update merges field by field; every other field is replaced whole. */
const MERGED_CONTAINERS = new Set(['audio', 'input', 'output']);
// Semantic VAD has no silence setting; approximate its eagerness with an energy-VAD silence length.
const EAGERNESS_SILENCE_MS: Record<string, number> = { low: 1200, medium: 700, auto: 700, high: 350 };

function serverVad(): JsonObject {
  return {
    type: 'server_vad',
    threshold: 0.5,
    prefix_padding_ms: DEFAULT_PREFIX_MS,
    silence_duration_ms: DEFAULT_SILENCE_MS,
    idle_timeout_ms: null,
    create_response: true,
    interrupt_response: true,
  };
}

function defaultSession(dialect: Dialect, id: string, model: string, expiresAt: number): JsonObject {
  const pcm24: JsonObject = { type: 'audio/pcm', rate: 24000 };
  if (dialect === 'xai') {
    return {
      id,
      object: 'realtime.session',
      model,
      voice: 'ara',
      instructions: '',
      turn_detection: serverVad(),
      audio: { input: { format: { ...pcm24 } }, output: { format: { ...pcm24 } } },
      tools: [],
    };
  }
  return {
    type: 'realtime',
    object: 'realtime.session',
    id,
    model,
    output_modalities: ['audio'],
    instructions: 'You are a helpful, witty, and friendly AI. (simulated model)',
    tools: [],
    tool_choice: 'auto',
    max_output_tokens: 'inf',
    tracing: null,
    truncation: 'auto',
    prompt: null,
    include: null,
    expires_at: expiresAt,
    audio: {
      input: { format: { ...pcm24 }, transcription: null, noise_reduction: null, turn_detection: serverVad() },
      output: { format: { ...pcm24 }, voice: 'marin', speed: 1 },
    },
  };
}

function merge(target: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    const cur = out[k];
    out[k] = MERGED_CONTAINERS.has(k) && isJsonObject(v) && isJsonObject(cur) ? merge(cur, v) : v;
  }
  return out;
}

function obj(v: Json | undefined, param: string): JsonObject | undefined {
  if (v === undefined) return undefined;
  if (!isJsonObject(v)) throw wrongType(param, 'an object', v);
  return v;
}

function validateFormat(v: Json | undefined, param: string, dialect: Dialect): void {
  const f = obj(v, param);
  if (!f) return;
  if (dialect === 'openai') rejectUnknown(f, ['type', 'rate'], param);
  const t = f.type;
  if (t === undefined) throw missing(`${param}.type`);
  if (typeof t !== 'string') throw wrongType(`${param}.type`, 'a string', t);
  if (!(FORMAT_TYPES as readonly string[]).includes(t)) throw invalidValue(`${param}.type`, t, FORMAT_TYPES);
  const rate = f.rate;
  if (rate === undefined || t !== 'audio/pcm') return;
  if (typeof rate !== 'number') throw wrongType(`${param}.rate`, 'an integer', rate);
  if (dialect === 'openai' && rate !== 24000) throw invalidValue(`${param}.rate`, rate, [24000]);
  if (dialect === 'xai' && (rate < 8000 || rate > 48000))
    throw invalidValue(`${param}.rate`, rate, [8000, 16000, 24000, 32000, 44100, 48000]);
}

function validateTurnDetection(v: Json | undefined, param: string): void {
  if (v === undefined || v === null) return;
  const td = obj(v, param);
  if (!td) return;
  const t = td.type;
  if (typeof t !== 'string')
    throw t === undefined ? missing(`${param}.type`) : wrongType(`${param}.type`, 'a string', t);
  if (t !== 'server_vad' && t !== 'semantic_vad')
    throw invalidValue(`${param}.type`, t, ['server_vad', 'semantic_vad']);
  for (const k of ['threshold', 'prefix_padding_ms', 'silence_duration_ms']) {
    const n = td[k];
    if (n !== undefined && typeof n !== 'number') throw wrongType(`${param}.${k}`, 'a number', n);
  }
  for (const k of ['create_response', 'interrupt_response']) {
    const b = td[k];
    if (b !== undefined && typeof b !== 'boolean') throw wrongType(`${param}.${k}`, 'a boolean', b);
  }
}

function validateTools(v: Json | undefined, dialect: Dialect): void {
  if (v === undefined) return;
  if (!Array.isArray(v)) throw wrongType('session.tools', 'an array', v);
  v.forEach((tool, i) => {
    const p = `session.tools[${i}]`;
    if (!isJsonObject(tool)) throw wrongType(p, 'an object', tool);
    const t = tool.type;
    if (typeof t !== 'string') throw t === undefined ? missing(`${p}.type`) : wrongType(`${p}.type`, 'a string', t);
    if (t === 'function') {
      if (tool.name === undefined) throw missing(`${p}.name`);
      if (typeof tool.name !== 'string') throw wrongType(`${p}.name`, 'a string', tool.name);
    } else if (dialect === 'openai' && t !== 'mcp') {
      throw invalidValue(`${p}.type`, t, ['function', 'mcp']);
    }
  });
}

function voiceName(v: Json | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (isJsonObject(v) && typeof v.id === 'string') return v.id;
  return undefined;
}

function validateGa(patch: JsonObject, current: JsonObject, assistantAudioPresent: boolean): void {
  const t = patch.type;
  if (t === undefined) throw missing('session.type');
  if (typeof t !== 'string') throw wrongType('session.type', 'a string', t);
  if (t === 'transcription')
    throw new ProtocolError(
      'invalid_value',
      "Cannot change a session's type from 'realtime' to 'transcription'.",
      'session.type',
    );
  if (t !== 'realtime') throw invalidValue('session.type', t, ['realtime', 'transcription']);
  rejectUnknown(patch, GA_SESSION_FIELDS, 'session');
  if (patch.model !== undefined && patch.model !== current.model) {
    throw new ProtocolError(
      'invalid_value',
      "The session's model cannot be changed after the session has been created.",
      'session.model',
    );
  }
  if (patch.instructions !== undefined && typeof patch.instructions !== 'string')
    throw wrongType('session.instructions', 'a string', patch.instructions);
  const mods = patch.output_modalities;
  if (mods !== undefined) {
    if (!Array.isArray(mods)) throw wrongType('session.output_modalities', 'an array', mods);
    mods.forEach((m, i) => {
      if (m !== 'audio' && m !== 'text')
        throw invalidValue(`session.output_modalities[${i}]`, String(m), ['text', 'audio']);
    });
    if (mods.length !== 1) {
      throw new ProtocolError(
        'invalid_value',
        `Invalid modalities: ${JSON.stringify(mods)}. Supported combinations are: ['text'] and ['audio'].`,
        'session.output_modalities',
      );
    }
  }
  const audio = obj(patch.audio, 'session.audio');
  if (audio) {
    rejectUnknown(audio, ['input', 'output'], 'session.audio');
    const input = obj(audio.input, 'session.audio.input');
    if (input) {
      rejectUnknown(input, ['format', 'noise_reduction', 'transcription', 'turn_detection'], 'session.audio.input');
      validateFormat(input.format, 'session.audio.input.format', 'openai');
      validateTurnDetection(input.turn_detection, 'session.audio.input.turn_detection');
      if (input.transcription !== undefined && input.transcription !== null)
        obj(input.transcription, 'session.audio.input.transcription');
    }
    const output = obj(audio.output, 'session.audio.output');
    if (output) {
      rejectUnknown(output, ['format', 'voice', 'speed'], 'session.audio.output');
      validateFormat(output.format, 'session.audio.output.format', 'openai');
      if (output.voice !== undefined && voiceName(output.voice) === undefined)
        throw wrongType('session.audio.output.voice', 'a string', output.voice);
      const curOut = isJsonObject(current.audio) && isJsonObject(current.audio.output) ? current.audio.output : {};
      if (output.voice !== undefined && assistantAudioPresent && voiceName(output.voice) !== voiceName(curOut.voice)) {
        throw new ProtocolError(
          'cannot_update_voice',
          "Cannot update a conversation's voice if assistant audio is present.",
          'session.audio.output.voice',
        );
      }
    }
  }
  validateTools(patch.tools, 'openai');
}

function validateXai(patch: JsonObject): void {
  if (patch.instructions !== undefined && typeof patch.instructions !== 'string')
    throw wrongType('session.instructions', 'a string', patch.instructions);
  if (patch.voice !== undefined && typeof patch.voice !== 'string')
    throw wrongType('session.voice', 'a string', patch.voice);
  validateTurnDetection(patch.turn_detection, 'session.turn_detection');
  const audio = obj(patch.audio, 'session.audio');
  const input = audio ? obj(audio.input, 'session.audio.input') : undefined;
  const output = audio ? obj(audio.output, 'session.audio.output') : undefined;
  if (input) validateFormat(input.format, 'session.audio.input.format', 'xai');
  if (output) validateFormat(output.format, 'session.audio.output.format', 'xai');
  validateTools(patch.tools, 'xai');
}

/** Fill a freshly set turn_detection object with the server's defaults for its type. */
function withVadDefaults(v: Json | undefined): Json | undefined {
  if (!isJsonObject(v)) return v;
  if (v.type === 'semantic_vad') return { eagerness: 'auto', create_response: true, interrupt_response: true, ...v };
  return { ...serverVad(), ...v };
}

function toFormat(v: Json | undefined): AudioFormat {
  if (!isJsonObject(v) || typeof v.type !== 'string') return { type: 'audio/pcm', rate: 24000 };
  const t = v.type;
  if (t === 'audio/pcmu' || t === 'audio/pcma') return { type: t, rate: 8000 };
  return { type: 'audio/pcm', rate: typeof v.rate === 'number' ? v.rate : 24000 };
}

function toTurnDetection(v: Json | undefined): TurnDetection | null {
  if (!isJsonObject(v)) return null;
  const semantic = v.type === 'semantic_vad';
  const eagerness = typeof v.eagerness === 'string' ? v.eagerness : 'auto';
  return {
    type: semantic ? 'semantic_vad' : 'server_vad',
    prefixPaddingMs: typeof v.prefix_padding_ms === 'number' ? v.prefix_padding_ms : DEFAULT_PREFIX_MS,
    silenceMs: semantic
      ? (EAGERNESS_SILENCE_MS[eagerness] ?? 700)
      : typeof v.silence_duration_ms === 'number'
        ? v.silence_duration_ms
        : DEFAULT_SILENCE_MS,
    createResponse: v.create_response !== false,
    interruptResponse: v.interrupt_response !== false,
  };
}

function toTools(v: Json | undefined): FunctionTool[] {
  if (!Array.isArray(v)) return [];
  const out: FunctionTool[] = [];
  for (const t of v) {
    if (!isJsonObject(t) || t.type !== 'function' || typeof t.name !== 'string') continue;
    out.push({
      name: t.name,
      description: typeof t.description === 'string' ? t.description : '',
      parameters: isJsonObject(t.parameters) ? t.parameters : null,
    });
  }
  return out;
}

function child(o: Json | undefined, key: string): Json | undefined {
  return isJsonObject(o) ? o[key] : undefined;
}

/**
 * Session fields this fake refuses as an account or model without them would (e.g.
 * `session.reasoning.effort` → `unknown_parameter`): the path a real error's `param` names.
 */
export type RefusedFields = Readonly<Partial<Record<string, 'unknown_parameter' | 'invalid_value'>>>;

function refuse(patch: JsonObject, refused: RefusedFields): void {
  for (const [param, code] of Object.entries(refused)) {
    let at: Json | undefined = patch;
    for (const key of param.split('.').slice(1)) at = isJsonObject(at) ? at[key] : undefined;
    if (at === undefined || code === undefined) continue;
    if (code === 'unknown_parameter') throw unknownParam(param);
    throw new ProtocolError('invalid_value', `Invalid value for '${param}': not supported here.`, param);
  }
}

export class SessionConfig {
  private session: JsonObject;
  private cachedView: SessionView;

  constructor(
    readonly dialect: Dialect,
    model: string,
    sessionId: string,
    expiresAt: number,
    private readonly refused: RefusedFields = {},
  ) {
    this.session = defaultSession(dialect, sessionId, model, expiresAt);
    this.cachedView = this.computeView();
  }

  /** The full session object, as session.created / session.updated carry it. Do not mutate. */
  get value(): JsonObject {
    return this.session;
  }

  get view(): SessionView {
    return this.cachedView;
  }

  /** Validates and merges a session.update; throws ProtocolError and changes nothing when invalid. */
  apply(patch: JsonObject, assistantAudioPresent: boolean): void {
    refuse(patch, this.refused);
    if (this.dialect === 'openai') validateGa(patch, this.session, assistantAudioPresent);
    else validateXai(patch);
    const next = merge(this.session, patch);
    if (this.dialect === 'openai') {
      const input = child(child(next, 'audio'), 'input');
      const td = child(child(child(patch, 'audio'), 'input'), 'turn_detection');
      if (isJsonObject(input) && td !== undefined) input.turn_detection = withVadDefaults(td) ?? null;
    } else if (patch.turn_detection !== undefined) {
      next.turn_detection = withVadDefaults(patch.turn_detection) ?? null;
    }
    this.session = next;
    this.cachedView = this.computeView();
  }

  private computeView(): SessionView {
    const s = this.session;
    const input = child(s.audio, 'input');
    const output = child(s.audio, 'output');
    const xai = this.dialect === 'xai';
    const mods = s.output_modalities;
    return {
      inputFormat: toFormat(child(input, 'format')),
      outputFormat: toFormat(child(output, 'format')),
      turnDetection: toTurnDetection(xai ? s.turn_detection : child(input, 'turn_detection')),
      transcription: isJsonObject(child(input, 'transcription')),
      tools: toTools(s.tools),
      instructions: typeof s.instructions === 'string' ? s.instructions : '',
      voice: voiceName(xai ? s.voice : child(output, 'voice')) ?? '',
      outputModalities: Array.isArray(mods) && mods.length === 1 && mods[0] === 'text' ? ['text'] : ['audio'],
    };
  }
}
