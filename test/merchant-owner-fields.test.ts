import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { parseCallRecord } from '../src/store/call-record.js';
import { exampleMerchantFile, runMerchantCli } from '../src/store/merchant-cli.js';
import { parseMerchantFile } from '../src/store/merchant-schema.js';
import { addMerchant, storeVariants, testMerchant, type OpenedStore } from './support/tools-harness.js';

// The merchant fields of transfers, owner notifications, the post-call webhook and recording: refused
// with the field named when wrong, shown by --example, stored and read back by every SQL store, and
// the recordings table that Twilio's callbacks fill.

const example = (): Record<string, unknown> => parseYaml(toYaml(exampleMerchantFile())) as Record<string, unknown>;

describe('merchant file: transfer targets, owner SMS, webhook, recording', () => {
  it('--example shows every new field and is itself valid', async () => {
    const out: string[] = [];
    const code = await runMerchantCli(['--example'], { env: {}, out: (l) => out.push(l), err: () => undefined });
    expect(code).toBe(0);
    const data = parseYaml(out.join('\n')) as Record<string, unknown>;
    for (const key of ['transferTargets', 'ownerNotifications', 'postCallWebhook', 'recording'])
      expect(data, key).toHaveProperty(key);
    const r = parseMerchantFile(data);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.merchant.transferTargets?.[0]).toMatchObject({ name: 'Dr Patel', hours: { '1': ['09:00-17:00'] } });
    expect(r.merchant.ownerNotifications).toEqual({ number: '+15555550143', showCallerNumber: false });
    expect(r.merchant.postCallWebhook?.url).toBe('https://example.com/hooks/calls');
    expect(r.merchant.recording?.notice).toMatch(/recorded/);
  });

  it('refuses a target without a valid E.164 number, hours that do not parse and a webhook that is not https', () => {
    const f = example();
    f.transferTargets = [
      { name: 'Dr Patel', number: '0207 946 0000', handles: 'emergencies', hours: { mon: ['9-5'] } },
      { name: 'dr patel', number: '+15555550100', handles: 'x', hours: { someday: ['09:00-17:00'] } },
    ];
    f.postCallWebhook = { url: 'http://example.com/hook', secret: 'not-a-secret' };
    f.ownerNotifications = { number: '555-0143', extra: true };
    f.recording = { notice: '' };
    const r = parseMerchantFile(f);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const has = (prefix: string, text: RegExp) =>
      expect(
        r.problems.some((p) => p.startsWith(`${prefix}:`) && text.test(p)),
        `${prefix} in ${r.problems.join('\n')}`,
      ).toBe(true);
    has('transferTargets[0].number', /E\.164/);
    has('transferTargets[0].hours.mon[0]', /HH:MM-HH:MM/);
    has('transferTargets[1].name', /another target/);
    has('transferTargets[1].hours.someday', /not a weekday/);
    has('postCallWebhook.url', /https:\/\//);
    has('postCallWebhook.secret', /whsec_/);
    has('ownerNotifications.number', /E\.164/);
    has('ownerNotifications.extra', /unknown field/);
    has('recording.notice', /empty/);
  });

  it('refuses a target with fields missing, naming each', () => {
    const f = example();
    f.transferTargets = [{ name: 'Front desk' }];
    const r = parseMerchantFile(f);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual(
      expect.arrayContaining([
        'transferTargets[0].number: is required',
        'transferTargets[0].handles: is required',
        'transferTargets[0].hours: is required',
      ]),
    );
  });
});

for (const variant of storeVariants()) {
  describe(`owner fields and recordings on ${variant.name}`, () => {
    let opened: OpenedStore;
    beforeAll(async () => {
      opened = await variant.open();
    });
    afterAll(async () => {
      await opened.cleanup();
    });

    it('stores every new merchant field and clears them when the file drops them', async () => {
      const { store } = opened;
      const parsed = parseMerchantFile({ ...example(), id: 'owner-fields', phoneNumbers: ['+15005550177'] });
      if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
      const saved = await store.upsertMerchant(parsed.merchant);
      expect(saved.transferTargets).toEqual(parsed.merchant.transferTargets);
      expect(saved.ownerNotifications).toEqual({ number: '+15555550143', showCallerNumber: false });
      expect(saved.postCallWebhook).toEqual(parsed.merchant.postCallWebhook);
      expect(saved.recording).toEqual({ notice: 'This call is recorded for quality and training.' });
      expect(await store.findMerchantByNumber('+15005550177')).toMatchObject({
        transferTargets: parsed.merchant.transferTargets,
        postCallWebhook: parsed.merchant.postCallWebhook,
      });
      const {
        transferTargets: _t,
        ownerNotifications: _o,
        postCallWebhook: _w,
        recording: _r,
        ...plain
      } = parsed.merchant;
      const cleared = await store.upsertMerchant(plain);
      for (const key of ['transferTargets', 'ownerNotifications', 'postCallWebhook', 'recording'])
        expect(cleared, key).not.toHaveProperty(key);
    });

    it('refuses at the database a webhook that is not https and a target list that is not a list', async () => {
      const { store } = opened;
      const m = testMerchant();
      await expect(
        store.upsertMerchant({ ...m, postCallWebhook: { url: 'http://example.com', secret: 'whsec_x' } }),
      ).rejects.toThrow(/check/i);
      await expect(opened.query("update merchants set transfer_targets = '{}'::jsonb")).rejects.toThrow(/check/i);
    });

    it('keeps a recording per call: a status only moves forward, and getCallRecord carries it', async () => {
      const { store } = opened;
      const m = await addMerchant(store);
      const callSid = `CA${'1'.repeat(32)}`;
      const sid = `RE${'a'.repeat(32)}`;
      expect(await store.getCallRecording(callSid)).toBeNull();
      const started = new Date('2031-01-01T10:00:00Z');
      await store.saveCallRecording({ sid, callSid, status: 'in-progress', channels: 2, startedAt: started });
      const done = await store.saveCallRecording({
        sid,
        callSid,
        status: 'completed',
        durationSeconds: 42,
        url: 'https://api.twilio.com/x',
      });
      expect(done).toMatchObject({ sid, status: 'completed', channels: 2, durationSeconds: 42, startedAt: started });
      // A late, retried in-progress callback changes nothing.
      const late = await store.saveCallRecording({ sid, callSid, status: 'in-progress' });
      expect(late).toMatchObject({ status: 'completed', durationSeconds: 42 });
      await store.saveCallRecord(
        parseCallRecord({
          callSid,
          streamSid: null,
          merchantId: m.id,
          callerPhone: null,
          calledNumber: null,
          direction: 'inbound',
          answeredBy: null,
          startedAt: started.toISOString(),
          endedAt: null,
          durationMs: null,
          endReason: null,
          provider: null,
          model: null,
          transcript: [],
          transcriptText: '',
        }),
      );
      const rec = await store.getCallRecord(callSid);
      expect(rec?.recording).toMatchObject({ sid, status: 'completed', durationSeconds: 42 });
      await expect(store.saveCallRecording({ sid: 'RE-bad', callSid, status: 'completed' })).rejects.toThrow();
    });
  });
}
