import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../config/config-error.js';
import { parseMerchantFile } from './merchant-schema.js';
import type { MerchantInput, MerchantRecord, Store } from './store.js';

// MERCHANT_FILES: merchant files (the format of `npm run merchant`) applied at every start, so a
// deployment whose database the command cannot reach (the embedded one, inside the running image)
// still gets its merchants. Applying is an upsert: the same files give the same merchants, a
// calendar connected from the console is kept (the file's absent Google fields change nothing),
// and a merchant whose file was removed stays until `npm run merchant -- --remove ID`.

const MERCHANT_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

async function filesOf(entry: string): Promise<string[]> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(entry)).isDirectory();
  } catch (err) {
    throw new ConfigError('MERCHANT_FILES', `cannot read ${entry}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  if (!isDirectory) return [entry];
  const names = (await readdir(entry)).filter((n) => MERCHANT_EXTENSIONS.has(extname(n).toLowerCase())).sort();
  return names.map((n) => join(entry, n));
}

async function readMerchant(path: string): Promise<MerchantInput> {
  let data: unknown;
  try {
    const raw = await readFile(path, 'utf8');
    data = extname(path).toLowerCase() === '.json' ? JSON.parse(raw) : parseYaml(raw);
  } catch (err) {
    throw new ConfigError('MERCHANT_FILES', `${path}: ${err instanceof Error ? err.message.split('\n')[0] : err}`);
  }
  const r = parseMerchantFile(data);
  if (!r.ok) throw new ConfigError('MERCHANT_FILES', `${path}: ${r.problems.join('; ')}`);
  return r.merchant;
}

/**
 * Reads every file (directories: their .yaml, .yml and .json files), validates all of them, then
 * writes them. A bad file stops start-up (ConfigError) before any merchant is written.
 */
export async function applyMerchantFiles(
  store: Pick<Store, 'upsertMerchant'>,
  entries: readonly string[],
): Promise<MerchantRecord[]> {
  const merchants: MerchantInput[] = [];
  const seen = new Map<string, string>();
  for (const entry of entries) {
    for (const path of await filesOf(entry)) {
      const m = await readMerchant(path);
      const other = seen.get(m.id);
      if (other !== undefined) throw new ConfigError('MERCHANT_FILES', `${path}: id ${m.id} is also in ${other}`);
      seen.set(m.id, path);
      merchants.push(m);
    }
  }
  const saved: MerchantRecord[] = [];
  for (const m of merchants) saved.push(await store.upsertMerchant(m));
  return saved;
}
