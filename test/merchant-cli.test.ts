import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runMerchantCli, type CliIo } from '../src/store/merchant-cli.js';
import { parseMerchantFile } from '../src/store/merchant-schema.js';

// The merchant CLI as an operator uses it: files on disk, the default embedded store in a fresh
// DATA_DIR, output read back as text.

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callrelay-cli-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(argv: string[], over: Partial<CliIo> = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runMerchantCli(argv, {
    env: { DATA_DIR: join(dir, 'data') },
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    ...over,
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const noStore: Partial<CliIo> = {
  openStore: () => Promise.reject(new Error('the store must not be opened for an invalid file')),
};

const file = async (name: string, text: string): Promise<string> => {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
};

describe('merchant CLI', () => {
  it('names every bad field of a merchant file and touches no store', async () => {
    const p = await file(
      'bad.yaml',
      [
        'id: Sunny Side',
        'name: Sunny Side Dental',
        'timeZone: Mars/Olympus_Mons',
        'phoneNumbers: ["+1 415 555 0123"]',
        'greting: Hello',
        'slotMinutes: 0',
        'tools: [createBookin]',
        'businessHours:',
        '  mon: ["17:00-09:00"]',
      ].join('\n'),
    );
    const r = await run([p], noStore);
    expect(r.code).toBe(1);
    expect(r.err).toContain('bad.yaml: 7 problems:');
    expect(r.err).toMatch(/- id: must be lowercase letters/);
    expect(r.err).toMatch(/- timeZone: must be an IANA time zone/);
    expect(r.err).toMatch(/- phoneNumbers\[0\]: must be an E\.164 number/);
    expect(r.err).toMatch(/- greting: unknown field/);
    expect(r.err).toMatch(/- slotMinutes: must be at least 5/);
    expect(r.err).toMatch(/- tools\[0\]: is not a known tool/);
    expect(r.err).toMatch(/- businessHours\.mon\[0\]: must be "HH:MM-HH:MM"/);
  });

  it('reports a YAML syntax error and a missing file plainly', async () => {
    const p = await file('broken.yaml', 'id: [unclosed');
    const r = await run([p], noStore);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/broken\.yaml is not valid YAML/);
    const missing = await run([join(dir, 'nope.json')], noStore);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/cannot read .*nope\.json/);
    expect((await run([], noStore)).code).toBe(2);
  });

  it('prints an example that is itself a valid merchant file', async () => {
    const r = await run(['--example'], noStore);
    expect(r.code).toBe(0);
    const parsed = parseMerchantFile(parseYaml(r.out));
    expect(parsed.ok).toBe(true);
    if (parsed.ok)
      expect(parsed.merchant).toMatchObject({
        name: 'Sunny Side Dental',
        phoneNumbers: ['+15555550123'],
        slotMinutes: 30,
      });
    const p = await file('example.yaml', r.out);
    expect((await run(['--check', p], noStore)).out).toContain('is valid: merchant sunny-side-dental');
  });

  it('adds the example as is next to the seeded demo merchant; --list calls no stored token connected', async () => {
    const env = { DATA_DIR: join(dir, 'example-store') };
    expect((await run(['--seed'], { env })).code).toBe(0);
    const example = await run(['--example'], noStore);
    expect(example.out).toContain('# googleCalendarId: primary');
    expect(example.out).toContain('# googleRefreshToken:');
    const added = await run([await file('as-is.yaml', example.out)], { env });
    expect(added.err).toBe('');
    expect(added.code).toBe(0);
    const google = `${example.out}\ngoogleCalendarId: primary\ngoogleRefreshToken: made-up-token\n`;
    expect((await run([await file('google.yaml', google)], { env })).code).toBe(0);
    const list = await run(['--list'], { env });
    expect(list.out).toContain('calendar primary (token stored, not verified)');
    expect(list.out).not.toContain('(connected)');
  });

  it('removes a merchant only with --yes, saying what goes with it', async () => {
    const env = { DATA_DIR: join(dir, 'remove-store') };
    expect((await run(['--seed'], { env })).code).toBe(0);
    const asked = await run(['--remove', 'demo'], { env });
    expect(asked.code).toBe(2);
    expect(asked.err).toMatch(/deletes demo \(Sunny Side Dental, \+15005550006\) with its call records/);
    expect((await run(['--list'], { env })).out).toContain('demo: Sunny Side Dental');
    const done = await run(['--remove', 'demo', '--yes'], { env });
    expect(done.code).toBe(0);
    expect(done.out).toBe('removed demo (Sunny Side Dental)');
    expect((await run(['--list'], { env })).out).toMatch(/no merchants yet/);
    expect((await run(['--remove', 'demo', '--yes'], { env })).code).toBe(1);
    expect((await run(['--remove'], noStore)).code).toBe(2);
  });

  it('refuses to open an embedded database another live process holds', async () => {
    await mkdir(join(dir, 'data'), { recursive: true });
    await writeFile(join(dir, 'data', 'pglite.lock'), String(process.ppid));
    const r = await run(['--list']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`in use by process ${process.ppid}.*DATABASE_URL`));
  });

  it('adds a merchant to a fresh DATA_DIR, updates it, refuses a stolen number, and lists it after a ' +
    'restart', async () => {
    // A lock left by a process that has since died (a crash) must not block the next start.
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    await writeFile(join(dir, 'data', 'pglite.lock'), String(dead));
    const json = await file(
      'sunny.json',
      JSON.stringify({
        id: 'sunny',
        name: 'Sunny Side Dental',
        timeZone: 'America/New_York',
        phoneNumbers: ['+15005550006'],
        businessHours: { mon: ['09:00-17:00'], fri: ['09:00-13:00'] },
        tools: ['takeMessage', 'lookupCustomer'],
      }),
    );
    const added = await run([json]);
    expect(added.err).toBe('');
    expect(added.code).toBe(0);
    expect(added.out).toContain('added\nsunny: Sunny Side Dental');
    expect(existsSync(join(dir, 'data', 'pglite'))).toBe(true);

    const yaml = await file(
      'sunny.yaml',
      'id: sunny\nname: Sunny Side Dental & Co\ntimeZone: America/New_York\nphoneNumbers: ["+15005550006", ' +
        '"+15005550007"]\nslotMinutes: 45\n',
    );
    const other = await file(
      'other.yaml',
      'id: other\nname: Other\ntimeZone: Europe/London\nphoneNumbers: ["+15005550007"]\n',
    );
    const updated = await run([yaml]);
    expect(updated.code).toBe(0);
    expect(updated.out).toContain('updated\nsunny: Sunny Side Dental & Co');
    expect(updated.out).toContain('+15005550006, +15005550007');
    const stolen = await run([other]);
    expect(stolen.code).toBe(1);
    expect(stolen.err).toMatch(/\+15005550007 already belongs to merchant sunny/);

    const listed = await run(['--list']);
    expect(listed.code).toBe(0);
    expect(listed.out).toContain('sunny: Sunny Side Dental & Co');
    expect(listed.out).toContain('America/New_York, 45-minute slots');
    expect(listed.out).not.toContain('other');
    expect(existsSync(join(dir, 'data', 'pglite.lock'))).toBe(false);
  }, 90_000);
});

describe('merchant CLI sign-in links', () => {
  it('prints a console sign-in link for the public host and revokes every link of the merchant', async () => {
    const env = { DATA_DIR: join(dir, 'links'), PUBLIC_HOST: 'relay.example.com', CONSOLE_TOKEN: 'x'.repeat(24) };
    expect((await run(['--seed'], { env })).code).toBe(0);
    const made = await run(['--link', 'demo', '--days', '7'], { env });
    expect(made.code).toBe(0);
    const link = /https:\/\/relay\.example\.com\/console\/sign-in#link=([A-Za-z0-9_-]{43})/.exec(made.out);
    expect(link, made.out).not.toBeNull();
    expect(made.err).toBe('');
    expect((await run(['--link', 'nobody'], { env })).code).toBe(1);
    expect((await run(['--link', 'demo', '--days', '0'], { env })).code).toBe(2);
    const revoked = await run(['--revoke-links', 'demo'], { env });
    expect(revoked.out).toBe('revoked 1 sign-in link of demo');
    // Without CONSOLE_TOKEN the link is still made, with a note that the console is off.
    const off = await run(['--link', 'demo'], { env: { DATA_DIR: env.DATA_DIR } });
    expect(off.out).toContain('http://localhost:8080/console/sign-in#link=');
    expect(off.err).toMatch(/console is off/);
  });
});
