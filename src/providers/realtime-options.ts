import type {
  RealtimeReasoningEffort,
  RealtimeSessionCreateRequest,
  NoiseReductionType,
} from 'openai/resources/realtime/realtime';

// The per-merchant choices of an OpenAI Realtime session (gpt-realtime-2 generation). Each list is
// pinned to the openai SDK's types with `satisfies`, so a value the SDK drops fails to compile; the
// merchant file's schema (src/store/merchant-schema.ts) names these lists when it refuses a value.

/** Realtime models a merchant may name, newest first. The default is OPENAI_REALTIME_MODEL. */
export const OPENAI_REALTIME_MODELS = [
  'gpt-realtime-2.1',
  'gpt-realtime-2.1-mini',
  'gpt-realtime-2',
  'gpt-realtime-1.5',
  'gpt-realtime',
  'gpt-realtime-mini',
] as const satisfies readonly NonNullable<RealtimeSessionCreateRequest['model']>[];
export type OpenAIRealtimeModel = (typeof OPENAI_REALTIME_MODELS)[number];

export const REASONING_EFFORTS = [
  'minimal',
  'low',
  'medium',
  'high',
  'xhigh',
] as const satisfies readonly RealtimeReasoningEffort[];

/** `off` sends `noise_reduction: null` (the documented way to turn it off). */
export const NOISE_REDUCTIONS = ['near_field', 'far_field', 'off'] as const satisfies readonly (
  | NoiseReductionType
  | 'off'
)[];

export const TURN_DETECTIONS = ['server_vad', 'semantic_vad'] as const;
export const EAGERNESS = ['low', 'medium', 'high', 'auto'] as const;

export interface RealtimeOptions {
  model?: OpenAIRealtimeModel;
  /** Only sent to reasoning models (gpt-realtime-2 and later). */
  reasoningEffort?: (typeof REASONING_EFFORTS)[number];
  noiseReduction?: (typeof NOISE_REDUCTIONS)[number];
  turnDetection?: (typeof TURN_DETECTIONS)[number];
  /** semantic_vad only. */
  eagerness?: (typeof EAGERNESS)[number];
  /** `auto` (the API's default), `disabled`, or the share of the conversation kept when it is cut (0–1). */
  truncation?: 'auto' | 'disabled' | number;
}

/** Reasoning effort exists from gpt-realtime-2 on; older models would refuse the field. */
export function isReasoningModel(model: string): boolean {
  return /^gpt-realtime-2(\.|-|$)/.test(model);
}
