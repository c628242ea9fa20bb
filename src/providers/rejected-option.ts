import type { SessionSpec } from './dialect.js';
import type { RealtimeOptions } from './realtime-options.js';

// A merchant's session option the provider refuses at run time (`unknown_parameter` or
// `invalid_value` naming a session field, e.g. `session.reasoning.effort` on a model or account that
// lacks it). The merchant CLI already refuses values no provider has; this covers what only the live
// API knows. The option is dropped and the session sent again, so the call goes on with the
// provider's default for it rather than with no session at all.

/** The error codes that name a field the session could do without. */
const REFUSALS = new Set(['unknown_parameter', 'invalid_value']);

/** Which merchant option produced a session field, by the field's path (longest prefix first). */
const OWNERS: readonly (readonly [prefix: string, option: keyof RealtimeOptions])[] = [
  ['session.audio.input.turn_detection.eagerness', 'eagerness'],
  ['session.audio.input.turn_detection', 'turnDetection'],
  ['session.audio.input.noise_reduction', 'noiseReduction'],
  ['session.reasoning', 'reasoningEffort'],
  ['session.truncation', 'truncation'],
];

export interface RejectedOption {
  /** The field the provider named. */
  field: string;
  option: keyof RealtimeOptions;
}

/**
 * The merchant option behind a refused field, if the session carried one; undefined for anything
 * else (a field the relay itself needs is not dropped: that error stays an error).
 */
export function rejectedOption(spec: SessionSpec, code: string, param: string | undefined): RejectedOption | undefined {
  if (!param || !REFUSALS.has(code)) return undefined;
  const owner = OWNERS.find(([prefix]) => param === prefix || param.startsWith(`${prefix}.`));
  if (!owner) return undefined;
  const option = owner[1];
  if (spec.options?.[option] === undefined) return undefined;
  return { field: param, option };
}

/** The same session without the option (turn detection takes its eagerness with it). */
export function withoutOption(spec: SessionSpec, option: keyof RealtimeOptions): SessionSpec {
  const { [option]: _dropped, ...rest } = spec.options ?? {};
  const options: RealtimeOptions = rest;
  if (option === 'turnDetection') delete options.eagerness;
  return { ...spec, options };
}
