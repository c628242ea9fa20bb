import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { merchantsPage } from '../src/console/pages/merchant.js';
import { runMerchantCli } from '../src/store/merchant-cli.js';
import { parseMerchantFile } from '../src/store/merchant-schema.js';
import { MEMORY, openPglite } from '../src/store/pglite-db.js';
import { seedMerchant } from '../src/store/seed.js';
import { SqlStore } from '../src/store/sql-store.js';

// A merchant's transport (media-streams, the default, or sip: straight to OpenAI over a SIP trunk) as
// an operator meets it: in the merchant file, in what `npm run merchant` prints, in the console's list.
// Storage round trips are in store-merchants.test.ts and supabase-merchants.test.ts.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callrelay-transport-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const file = (over: Record<string, unknown>) => ({
  id: 'sip-dental',
  name: 'Sip Dental',
  timeZone: 'Europe/London',
  phoneNumbers: ['+441234567890'],
  ...over,
});

const problems = (over: Record<string, unknown>): string[] => {
  const r = parseMerchantFile(file(over));
  return r.ok ? [] : r.problems;
};

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runMerchantCli(argv, {
    env: {},
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    // A fresh embedded database per run: each command below reads back what it saved itself.
    openStore: async () => {
      const store = new SqlStore(await openPglite(MEMORY));
      await store.migrate();
      return store;
    },
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('merchant transport', () => {
  it('the merchant file takes media-streams or sip and names both when given anything else', () => {
    const sip = parseMerchantFile(file({ provider: 'openai', transport: 'sip' }));
    expect(sip.ok && sip.merchant.transport).toBe('sip');
    const plain = parseMerchantFile(file({ transport: 'media-streams' }));
    expect(plain.ok && 'transport' in plain.merchant).toBe(false);
    expect(problems({ transport: 'webrtc' })).toEqual(['transport: must be one of media-streams, sip']);
    expect(problems({ transport: 'SIP' })).toEqual(['transport: must be one of media-streams, sip']);
  });

  it("refuses sip with xai, saying SIP calls are OpenAI's; takes it with openai, sim or no provider", () => {
    expect(problems({ provider: 'xai', transport: 'sip' })).toEqual([
      "transport: sip calls are OpenAI's: provider must be openai (or sim, or left out), not xai",
    ]);
    expect(problems({ provider: 'xai', transport: 'media-streams' })).toEqual([]);
    for (const provider of ['openai', 'sim', undefined])
      expect(problems({ provider, transport: 'sip' }), String(provider)).toEqual([]);
  });

  it('npm run merchant saves a sip merchant and says where its numbers must be routed', async () => {
    const path = join(dir, 'sip.yaml');
    await writeFile(
      path,
      'id: sip-dental\nname: Sip Dental\ntimeZone: Europe/London\n' +
        'phoneNumbers: ["+441234567890"]\ntransport: sip\n',
    );
    const added = await cli([path]);
    expect(added.err).toBe('');
    expect(added.code).toBe(0);
    expect(added.out).toContain('provider: (default); transport sip');
    const note = added.out.split('\n').filter((l) => l.includes('SIP'));
    expect(note).toEqual([
      "  sip:      route its numbers to OpenAI's SIP endpoint (Elastic SIP trunk), or leave them on the voice " +
        'webhook with OPENAI_SIP_URI set (README: SIP); with no provider set, PROVIDER must be openai',
    ]);

    const xai = join(dir, 'sip-xai.yaml');
    await writeFile(
      xai,
      'id: x\nname: X\ntimeZone: Europe/London\nphoneNumbers: ["+441234567891"]\n' + 'provider: xai\ntransport: sip\n',
    );
    const refused = await cli(['--check', xai]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("- transport: sip calls are OpenAI's: provider must be openai");
  }, 60_000);

  it('npm run merchant prints media-streams for a merchant that leaves transport out, with no SIP note', async () => {
    const path = join(dir, 'plain.yaml');
    await writeFile(
      path,
      'id: plain\nname: Plain\ntimeZone: Europe/London\nphoneNumbers: ["+441234567892"]\n' + 'provider: xai\n',
    );
    const added = await cli([path]);
    expect(added.code).toBe(0);
    expect(added.out).toContain('provider: xai; transport media-streams');
    expect(added.out).not.toContain('SIP');
  }, 60_000);

  it("the console's merchant list shows how each merchant's calls travel", () => {
    const record = {
      ...seedMerchant,
      googleCalendarId: null,
      googleTokens: { refreshToken: null, accessToken: null, expiresAt: null },
    };
    const html = merchantsPage(
      { viewer: { kind: 'operator' }, csrf: 'c', section: 'merchants' },
      [
        { ...record, id: 'relay', name: 'Relay Dental' },
        { ...record, id: 'sip', name: 'Sip Dental', provider: 'openai', transport: 'sip' },
      ],
      new Map(),
    );
    const items = html.split('<li class="card">').slice(1);
    expect(items[0]).toContain('Relay Dental');
    expect(items[0]).toContain('Media Streams');
    expect(items[1]).toContain('Sip Dental');
    expect(items[1]).toContain('SIP to OpenAI');
  });
});
