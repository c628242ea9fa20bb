import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { logLevelOr, readEnv, type Env } from '../config.js';
import { log } from '../log.js';
import { parseMerchantFile } from './merchant-schema.js';
import { openStore, storeConfigFromEnv, type StoreConfig } from './open-store.js';
import { seedDemoMerchant, seedMerchant } from './seed.js';
import type { MerchantRecord, Store } from './store.js';
import { publicOrigin } from '../console/console-config.js';
import { createSignInLink, DEFAULT_LINK_DAYS, MAX_LINK_DAYS } from '../console/sign-in-links.js';

// npm run merchant -- path/to/merchant.yaml   add or update the merchant the file describes
// npm run merchant -- --list                  list stored merchants
// The store is the one the relay would use (DATABASE_URL > SUPABASE_URL > DATA_DIR's PGlite).

export interface CliIo {
  env: Env;
  out(line: string): void;
  err(line: string): void;
  openStore?: (config: StoreConfig) => Promise<Store>;
}

const USAGE = `Usage:
  npm run merchant -- <merchant.yaml|merchant.json>   add or update that merchant
  npm run merchant -- --check <file>                  validate the file only
  npm run merchant -- --list                          list merchants
  npm run merchant -- --seed                          add or reset the Sunny Side Dental demo merchant
  npm run -s merchant -- --example > merchant.yaml    write an example merchant file (-s: without npm's banner)
  npm run merchant -- --link ID [--days N]            console sign-in link for the owner of merchant ID
                                                      (${DEFAULT_LINK_DAYS} days unless --days; shown once)
  npm run merchant -- --revoke-links ID               revoke every sign-in link of merchant ID
  npm run merchant -- --remove ID --yes               delete merchant ID with its calls, customers and bookings
Store: DATABASE_URL, else SUPABASE_URL + SUPABASE_SERVICE_ROLE_KEY, else PGlite in DATA_DIR (default ./data).`;

async function readMerchantFile(path: string, io: CliIo): Promise<ReturnType<typeof parseMerchantFile> | null> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    io.err(`cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
  let data: unknown;
  try {
    data = extname(path).toLowerCase() === '.json' ? JSON.parse(raw) : parseYaml(raw);
  } catch (err) {
    io.err(
      `${path} is not valid ${extname(path).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ` +
        (err instanceof Error ? err.message : String(err)),
    );
    return null;
  }
  const result = parseMerchantFile(data);
  if (!result.ok) {
    io.err(`${path}: ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}:`);
    for (const p of result.problems) io.err(`  - ${p}`);
  }
  return result;
}

// The relay cannot route the number itself: whoever answers the phone number has to send it to OpenAI.
function sipNote(m: MerchantRecord): string[] {
  if (m.transport !== 'sip') return [];
  return [
    "  sip:      route its numbers to OpenAI's SIP endpoint (Elastic SIP trunk), or leave them on the " +
      'voice webhook with OPENAI_SIP_URI set (README: SIP)' +
      (m.provider === undefined ? '; with no provider set, PROVIDER must be openai' : ''),
  ];
}

function describe(m: MerchantRecord): string {
  // A stored token was never checked against Google here: it may be made up, expired or revoked.
  const token = m.googleTokens.refreshToken ? ' (token stored, not verified)' : ' (not connected)';
  const calendar = m.googleCalendarId ? `calendar ${m.googleCalendarId}${token}` : 'no calendar';
  const voice = m.voice ? `, voice ${m.voice}` : '';
  return [
    `${m.id}: ${m.name}`,
    `  numbers:  ${m.phoneNumbers.join(', ') || '(none)'}`,
    `  zone:     ${m.timeZone}, ${m.slotMinutes}-minute slots`,
    `  provider: ${m.provider ?? '(default)'}${voice}; transport ${m.transport ?? 'media-streams'}`,
    ...sipNote(m),
    `  tools:    ${m.tools.join(', ') || '(none)'}`,
    `  transfer: ${m.transferTargets?.map((t) => t.name).join(', ') || '(nobody)'}`,
    `  owner:    ${m.ownerNotifications ? `SMS to ${m.ownerNotifications.number}` : 'no SMS'}` +
      `, ${m.postCallWebhook ? `webhook ${m.postCallWebhook.url}` : 'no webhook'}` +
      `, ${m.recording ? 'calls recorded' : 'not recorded'}`,
    `  ${calendar}`,
  ].join('\n');
}

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const dayNames = (hours: Record<string, string[]>) =>
  Object.fromEntries(Object.entries(hours).map(([d, r]) => [DAYS[Number(d) - 1] ?? d, r]));

// The Google fields as comments: a made-up refresh token would be stored as if it were connected.
const GOOGLE_EXAMPLE = [
  '# Google Calendar (optional; or connect it from the console): the calendar bookings go to, and the',
  "# OAuth refresh token of an account that can write to it (GOOGLE_CLIENT_ID/SECRET's client).",
  '# googleCalendarId: primary',
  '# googleRefreshToken: 1//0your-refresh-token',
].join('\n');

/** The demo merchant as a merchant file, with every optional field filled in to show it. */
export function exampleMerchantFile(): Record<string, unknown> {
  return {
    ...seedMerchant,
    id: 'sunny-side-dental',
    // Not the demo merchant's number, so the example can be added as is next to the seeded demo.
    phoneNumbers: ['+15555550123'],
    // The default, written out to show the field; sip sends calls to OpenAI over a SIP trunk.
    transport: 'media-streams',
    businessHours: dayNames(seedMerchant.businessHours),
    googleCalendarId: undefined,
    transferTargets: (seedMerchant.transferTargets ?? []).map((t) => ({ ...t, hours: dayNames(t.hours) })),
    ownerNotifications: { number: '+15555550143', showCallerNumber: false },
    // An example only: make your own with `echo whsec_$(openssl rand -base64 32)`.
    postCallWebhook: {
      url: 'https://example.com/hooks/calls',
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    },
    recording: { notice: 'This call is recorded for quality and training.' },
  };
}

async function withStore(io: CliIo, fn: (store: Store) => Promise<number>): Promise<number> {
  let store: Store;
  try {
    store = await (io.openStore ?? openStore)(storeConfigFromEnv(io.env));
  } catch (err) {
    io.err(`cannot open the store: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  try {
    return await fn(store);
  } catch (err) {
    io.err(`store error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await store.close();
  }
}

/** --remove ID --yes: the schema cascades, so the merchant's history goes too; --yes says so was meant. */
async function removeCommand(rest: readonly string[], io: CliIo): Promise<number> {
  const [merchantId, confirm, ...extra] = rest;
  if (merchantId === undefined || merchantId.startsWith('-') || extra.length > 0) {
    io.err('--remove takes a merchant id (see npm run merchant -- --list), then --yes');
    return 2;
  }
  return withStore(io, async (store) => {
    const m = await store.getMerchant(merchantId);
    if (!m) {
      io.err(`no merchant ${merchantId} (see npm run merchant -- --list)`);
      return 1;
    }
    if (confirm !== '--yes') {
      io.err(
        `this deletes ${m.id} (${m.name}, ${m.phoneNumbers.join(', ') || 'no numbers'}) with its call records, ` +
          `customers, bookings and messages; run again with --yes to do it`,
      );
      return 2;
    }
    await store.deleteMerchant(m.id);
    io.out(`removed ${m.id} (${m.name})`);
    return 0;
  });
}

/** --link ID [--days N] and --revoke-links ID. */
async function linkCommand(command: '--link' | '--revoke-links', rest: readonly string[], io: CliIo): Promise<number> {
  const [merchantId, flag, value] = rest;
  if (merchantId === undefined || merchantId.startsWith('-')) {
    io.err(`${command} needs a merchant id`);
    return 2;
  }
  let days = DEFAULT_LINK_DAYS;
  if (command === '--link' && flag !== undefined) {
    const n = Number(value);
    if (flag !== '--days' || !Number.isInteger(n) || n < 1 || n > MAX_LINK_DAYS) {
      io.err(`--link takes --days N with N a whole number of days in 1..${MAX_LINK_DAYS}`);
      return 2;
    }
    days = n;
  }
  return withStore(io, async (store) => {
    if (command === '--revoke-links') {
      const n = await store.revokeConsoleLinks(merchantId);
      io.out(`revoked ${n} sign-in link${n === 1 ? '' : 's'} of ${merchantId}`);
      return 0;
    }
    const where = readEnv(io.env, (r) => ({
      host: r.get('PUBLIC_HOST') ?? `localhost:${r.get('PORT')}`,
      consoleOn: r.isSet('CONSOLE_TOKEN'),
    }));
    const made = await createSignInLink(store, merchantId, publicOrigin(where.host), days);
    if (!made) {
      io.err(`no merchant ${merchantId} (see npm run merchant -- --list)`);
      return 1;
    }
    io.out(`sign-in link for ${merchantId}, valid until ${made.record.expiresAt.toISOString()} (shown once):`);
    io.out(made.link);
    if (!where.consoleOn) io.err('note: the console is off until the relay runs with CONSOLE_TOKEN set');
    return 0;
  });
}

export async function runMerchantCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, second] = argv;
  if (first === undefined || first === '--help' || first === '-h') {
    io.out(USAGE);
    return first === undefined ? 2 : 0;
  }
  if (first === '--example') {
    io.out(`${toYaml(exampleMerchantFile()).trimEnd()}\n${GOOGLE_EXAMPLE}`);
    return 0;
  }
  if (first === '--list') {
    return withStore(io, async (store) => {
      const all = await store.listMerchants();
      if (all.length === 0) io.out('no merchants yet (add one with: npm run merchant -- merchant.yaml)');
      for (const m of all) io.out(describe(m));
      return 0;
    });
  }
  if (first === '--seed') {
    return withStore(io, async (store) => {
      io.out(`saved\n${describe(await seedDemoMerchant(store))}`);
      return 0;
    });
  }
  if (first === '--link' || first === '--revoke-links') return linkCommand(first, argv.slice(1), io);
  if (first === '--remove') return removeCommand(argv.slice(1), io);
  if (first === '--check') {
    if (second === undefined) {
      io.err('--check needs a file');
      return 2;
    }
    const r = await readMerchantFile(second, io);
    if (!r?.ok) return 1;
    io.out(`${second} is valid: merchant ${r.merchant.id} (${r.merchant.name})`);
    return 0;
  }
  if (first.startsWith('-')) {
    io.err(`unknown option ${first}\n${USAGE}`);
    return 2;
  }
  const r = await readMerchantFile(first, io);
  if (!r?.ok) return 1;
  const merchant = r.merchant;
  return withStore(io, async (store) => {
    const existed = (await store.getMerchant(merchant.id)) !== null;
    const saved = await store.upsertMerchant(merchant);
    io.out(`${existed ? 'updated' : 'added'}\n${describe(saved)}`);
    return 0;
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // The operator reads this command's own output; store start-up chatter is for the relay's log.
  log.level = logLevelOr(process.env, 'warn');
  const code = await runMerchantCli(process.argv.slice(2), {
    env: process.env,
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
  });
  process.exitCode = code;
}
