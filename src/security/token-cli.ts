import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, readEnv, type Env } from '../config.js';
import { MAX_ID_CHARS, MAX_TOKEN_TTL_SECONDS, mintToken } from './token.js';

// `npm run token -- --ttl 60 [--sub ID] [--merchant ID]` prints one client token on stdout and nothing
// else, so it composes in shell scripts: TOKEN=$(npm run -s token -- --ttl 60).

const KEY_HINT = '32 random bytes as base64: `openssl rand -base64 32`';

interface Writable {
  write(chunk: string): unknown;
}

const USAGE = `usage: token --ttl SECONDS [--sub USER_ID] [--merchant MERCHANT_ID]
  Prints an access token for a browser client. Reads ENCRYPTION_KEY (base64, 32 bytes) from the environment.
  --ttl       lifetime in seconds, 1..${MAX_TOKEN_TTL_SECONDS} (default 60)
  --sub       user id to embed (optional, up to ${MAX_ID_CHARS} characters)
  --merchant  merchant id to embed (optional, up to ${MAX_ID_CHARS} characters)
`;

/**
 * @param argv arguments after the script name (process.argv.slice(2))
 * @returns the process exit code: 0 ok, 1 configuration error (ENCRYPTION_KEY), 2 usage error
 */
export function main(
  argv: readonly string[],
  env: Env,
  stdout: Writable,
  stderr: Writable = process.stderr,
  now: number = Date.now(),
): number {
  let values: { ttl?: string; sub?: string; merchant?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        ttl: { type: 'string' },
        sub: { type: 'string' },
        merchant: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    stderr.write(`token: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    stdout.write(USAGE);
    return 0;
  }

  const ttlText = values.ttl ?? '60';
  const ttlSeconds = /^\d+$/.test(ttlText) ? Number(ttlText) : Number.NaN;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TOKEN_TTL_SECONDS) {
    stderr.write(
      `token: --ttl must be a whole number of seconds in 1..${MAX_TOKEN_TTL_SECONDS}, got ${JSON.stringify(ttlText)}\n`,
    );
    return 2;
  }
  for (const [flag, v] of [
    ['--sub', values.sub],
    ['--merchant', values.merchant],
  ] as const) {
    if (v !== undefined && (v.length === 0 || v.length > MAX_ID_CHARS)) {
      stderr.write(`token: ${flag} must be 1..${MAX_ID_CHARS} characters\n`);
      return 2;
    }
  }

  let key: Buffer;
  try {
    key = readEnv(env, (r) => {
      const k = r.get('ENCRYPTION_KEY');
      if (k === undefined) r.problem('ENCRYPTION_KEY', `is not set (expected ${KEY_HINT})`);
      // Only a placeholder: with a problem recorded readEnv throws instead of returning it.
      return k ?? Buffer.alloc(0);
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    stderr.write(`token: ${err.message}\n`);
    return 1;
  }
  const token = mintToken(key, { ttlSeconds, sub: values.sub, merchantId: values.merchant, now });
  stdout.write(`${token}\n`);
  return 0;
}

function invokedDirectly(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  process.exitCode = main(process.argv.slice(2), process.env, process.stdout);
}
