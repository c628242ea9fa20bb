import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startRelay } from '../src/app.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { exampleMerchantFile } from '../src/store/merchant-cli.js';
import { applyMerchantFiles } from '../src/store/merchant-files.js';
import { MEMORY, openPglite } from '../src/store/pglite-db.js';
import { SqlStore } from '../src/store/sql-store.js';
import { startHarness } from './support/relay-harness.js';

// Issue 16, "A deployed relay cannot be given merchants": MERCHANT_FILES applied at start, the same
// files every time; and the loud warning when a real (signed) call reaches the demo merchant.

const dir = mkdtempSync(join(tmpdir(), 'merchant-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, fields: Record<string, unknown>): string => {
  const path = join(dir, name);
  writeFileSync(path, name.endsWith('.json') ? JSON.stringify(fields) : stringify(fields));
  return path;
};

async function memoryStore(): Promise<SqlStore> {
  const store = new SqlStore(await openPglite(MEMORY));
  await store.migrate();
  return store;
}

describe('applyMerchantFiles', () => {
  const folder = join(dir, 'merchants');
  beforeAll(() => {
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder);
    writeFileSync(
      join(folder, 'a.yaml'),
      stringify({ ...exampleMerchantFile(), id: 'a', phoneNumbers: ['+15550001001'] }),
    );
    writeFileSync(
      join(folder, 'b.json'),
      JSON.stringify({ ...exampleMerchantFile(), id: 'b', name: 'B', phoneNumbers: ['+15550001002'] }),
    );
    writeFileSync(join(folder, 'notes.txt'), 'not a merchant');
  });

  it('adds the merchants of a folder, and applying again changes nothing (a connected calendar is kept)', async () => {
    const store = await memoryStore();
    expect((await applyMerchantFiles(store, [folder])).map((m) => m.id)).toEqual(['a', 'b']);
    await store.upsertMerchant({
      ...(await store.getMerchant('a'))!,
      googleTokens: { refreshToken: 'rt-from-console' },
    });
    await applyMerchantFiles(store, [folder]);
    expect((await store.listMerchants()).map((m) => m.id).sort()).toEqual(['a', 'b']);
    expect((await store.getMerchant('a'))?.googleTokens?.refreshToken).toBe('rt-from-console');
    await store.close();
  });

  it('refuses a bad file with one ConfigError naming MERCHANT_FILES and the file, writing nothing', async () => {
    const store = await memoryStore();
    const bad = file('bad.yaml', { ...exampleMerchantFile(), id: 'c', phoneNumbers: ['5550001003'] });
    const attempt = applyMerchantFiles(store, [join(folder, 'a.yaml'), bad]);
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(/^MERCHANT_FILES: .*bad\.yaml: phoneNumbers\[0\]: must be an E\.164 number/);
    expect(await store.listMerchants()).toEqual([]);
    await expect(applyMerchantFiles(store, [join(dir, 'missing.yaml')])).rejects.toThrow(/MERCHANT_FILES: cannot read/);
    await store.close();
  });

  it('refuses two files with the same merchant id', async () => {
    const store = await memoryStore();
    const twin = file('twin.yaml', { ...exampleMerchantFile(), id: 'a', phoneNumbers: ['+15550001009'] });
    await expect(applyMerchantFiles(store, [folder, twin])).rejects.toThrow(/id a is also in/);
    await store.close();
  });
});

describe('a relay started with MERCHANT_FILES', () => {
  it('answers its merchant and seeds no demo merchant', async () => {
    const path = file('shop.yaml', { ...exampleMerchantFile(), id: 'shop', phoneNumbers: ['+15550001010'] });
    const store = await memoryStore();
    process.env.MERCHANT_FILES = path;
    try {
      const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', PROVIDER: 'sim', METRICS_PORT: '0' });
      const relay = await startRelay(config, { store });
      expect((await relay.directory.byNumber('+15550001010'))?.id).toBe('shop');
      expect((await store.listMerchants()).map((m) => m.id)).toEqual(['shop']);
      await relay.close();
    } finally {
      delete process.env.MERCHANT_FILES;
    }
  });
});

describe('a signed call to a number no merchant owns (outside production)', () => {
  it('reaches the demo merchant with a warning, counted', async () => {
    const token = 'twilio-auth-token-demo-fallback-0001';
    const h = await startHarness({ env: { TWILIO_AUTH_TOKEN: token } });
    try {
      const params = { CallSid: 'CA00000000000000000000000000000042', From: '+14155550100', To: '+15550009999' };
      const signature = twilio.getExpectedTwilioSignature(token, 'https://relay.test/twilio/voice', params);
      const r = await fetch(`http://127.0.0.1:${h.relay.port}/twilio/voice`, {
        method: 'POST',
        body: new URLSearchParams(params).toString(),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': signature },
      });
      expect(r.status).toBe(200);
      expect(await r.text()).toContain('name="merchantId" value="demo"');
      const text = await h.relay.metrics.registry.getSingleMetricAsString('callrelay_demo_fallback_calls_total');
      expect(text).toMatch(/callrelay_demo_fallback_calls_total 1/);
    } finally {
      await h.close();
    }
  });
});
