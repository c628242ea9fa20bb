import { describe, expect, it } from 'vitest';
import type { SessionSpec } from '../src/providers/dialect.js';
import { rejectedOption, withoutOption } from '../src/providers/rejected-option.js';

// Which merchant option a provider's refusal names, and the session without it.

const spec: SessionSpec = {
  instructions: 'Be brief.',
  voice: 'marin',
  tools: [],
  transcription: null,
  options: { reasoningEffort: 'high', turnDetection: 'semantic_vad', eagerness: 'low', truncation: 0.5 },
};

describe('a refused session option', () => {
  it('is traced to the merchant option that produced the field', () => {
    expect(rejectedOption(spec, 'unknown_parameter', 'session.reasoning.effort')?.option).toBe('reasoningEffort');
    expect(rejectedOption(spec, 'invalid_value', 'session.truncation.retention_ratio')?.option).toBe('truncation');
    expect(rejectedOption(spec, 'invalid_value', 'session.audio.input.turn_detection.eagerness')?.option).toBe(
      'eagerness',
    );
    expect(rejectedOption(spec, 'invalid_value', 'session.audio.input.turn_detection.type')?.option).toBe(
      'turnDetection',
    );
  });

  it('leaves alone fields the relay needs, options the merchant did not set and other errors', () => {
    expect(rejectedOption(spec, 'invalid_value', 'session.audio.input.format.type')).toBeUndefined();
    expect(rejectedOption(spec, 'unknown_parameter', 'session.audio.input.noise_reduction')).toBeUndefined();
    expect(rejectedOption(spec, 'server_error', 'session.reasoning.effort')).toBeUndefined();
    expect(rejectedOption(spec, 'unknown_parameter', undefined)).toBeUndefined();
  });

  it('drops only that option; turn detection takes its eagerness with it', () => {
    expect(withoutOption(spec, 'reasoningEffort').options).toEqual({
      turnDetection: 'semantic_vad',
      eagerness: 'low',
      truncation: 0.5,
    });
    expect(withoutOption(spec, 'turnDetection').options).toEqual({ reasoningEffort: 'high', truncation: 0.5 });
    expect(spec.options?.reasoningEffort).toBe('high');
  });
});
