import { afterEach, describe, expect, it } from 'vitest';
import { demoMerchant } from '../src/merchants/demo-merchant.js';
import { parseMerchantFile } from '../src/store/merchant-schema.js';
import { MEMORY, openPglite } from '../src/store/pglite-db.js';
import { SqlStore } from '../src/store/sql-store.js';
import { startHarness, type Harness } from './support/relay-harness.js';

// A merchant's OpenAI session choices (gpt-realtime-2 generation): refused by name when wrong,
// stored (migration 0004), and sent in session.update in the SDK's shape.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const file = (realtime: unknown) => ({
  id: 'm_rt',
  name: 'Realtime Dental',
  timeZone: 'Europe/London',
  phoneNumbers: ['+441234567890'],
  realtime,
});

describe('realtime options', () => {
  it('are refused for a provider that has none of them (GPT-Live, xAI)', () => {
    for (const provider of ['openai-live', 'xai']) {
      const r = parseMerchantFile({ ...file({ reasoningEffort: 'low' }), provider });
      expect(r.ok ? [] : r.problems).toEqual([
        `realtime: applies to provider openai only (this merchant's provider is ${provider})`,
      ]);
    }
    expect(parseMerchantFile({ ...file({ reasoningEffort: 'low' }), provider: 'openai' }).ok).toBe(true);
    expect(parseMerchantFile({ ...file(undefined), provider: 'openai-live' })).toMatchObject({ ok: true });
  });

  it('the merchant file refuses a wrong value and names the valid ones', () => {
    const r = parseMerchantFile(file({ model: 'gpt-5-voice', reasoningEffort: 'max', eagerness: 'low' }));
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    expect(problems).toContainEqual(expect.stringMatching(/^realtime\.model: must be one of gpt-realtime-2\.1, /));
    expect(problems).toContainEqual('realtime.reasoningEffort: must be one of minimal, low, medium, high, xhigh');
    const older = parseMerchantFile(file({ model: 'gpt-realtime', reasoningEffort: 'low' }));
    expect(older.ok ? [] : older.problems).toEqual([
      'realtime.reasoningEffort: is not available on gpt-realtime (only gpt-realtime-2 and later)',
    ]);
    const vad = parseMerchantFile(file({ eagerness: 'low' }));
    expect(vad.ok ? [] : vad.problems).toEqual(['realtime.eagerness: applies to turnDetection semantic_vad only']);
    expect(parseMerchantFile(file({ truncation: 1.5 })).ok).toBe(false);
    expect(parseMerchantFile(file({ colour: 'blue' })).ok).toBe(false);
  });

  it('is stored and read back (migration 0004)', async () => {
    const store = new SqlStore(await openPglite(MEMORY));
    try {
      await store.migrate();
      const parsed = parseMerchantFile(
        file({ model: 'gpt-realtime-2', reasoningEffort: 'high', turnDetection: 'semantic_vad', truncation: 0.8 }),
      );
      if (!parsed.ok) throw new Error(parsed.problems.join('; '));
      const saved = await store.upsertMerchant(parsed.merchant);
      expect(saved.realtime).toEqual({
        model: 'gpt-realtime-2',
        reasoningEffort: 'high',
        turnDetection: 'semantic_vad',
        truncation: 0.8,
      });
      const { realtime: _gone, ...without } = parsed.merchant;
      expect((await store.upsertMerchant(without)).realtime).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('a GPT-Live merchant is stored and read back (migration 0006)', async () => {
    const store = new SqlStore(await openPglite(MEMORY));
    try {
      await store.migrate();
      const parsed = parseMerchantFile({ ...file(undefined), provider: 'openai-live' });
      if (!parsed.ok) throw new Error(parsed.problems.join('; '));
      expect((await store.upsertMerchant(parsed.merchant)).provider).toBe('openai-live');
      expect((await store.getMerchant(parsed.merchant.id))?.provider).toBe('openai-live');
    } finally {
      await store.close();
    }
  });

  it("sends the merchant's model, reasoning effort, noise reduction, semantic VAD and truncation", async () => {
    h = await startHarness({
      merchant: {
        realtime: {
          model: 'gpt-realtime-2',
          reasoningEffort: 'medium',
          noiseReduction: 'far_field',
          turnDetection: 'semantic_vad',
          eagerness: 'low',
          truncation: 0.75,
        },
      },
    });
    const { model } = await h.call();
    const update = await model.waitFor('session.update', undefined, 3000);
    expect(update.session).toMatchObject({
      model: 'gpt-realtime-2',
      reasoning: { effort: 'medium' },
      truncation: { type: 'retention_ratio', retention_ratio: 0.75 },
      audio: {
        input: {
          noise_reduction: { type: 'far_field' },
          turn_detection: { type: 'semantic_vad', eagerness: 'low', interrupt_response: false },
        },
      },
    });
    expect(model.model).toBe('gpt-realtime-2');
  });

  it('without options: the pinned default model and the API defaults (nothing extra sent)', async () => {
    h = await startHarness({ merchant: { ...demoMerchant, realtime: undefined } });
    const { model } = await h.call();
    const update = await model.waitFor('session.update', undefined, 3000);
    const session = update.session as Record<string, unknown>;
    expect(session.model).toBe('gpt-realtime-2.1');
    expect(session.reasoning).toBeUndefined();
    expect(session.truncation).toBeUndefined();
  });
});
