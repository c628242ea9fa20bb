import type { z } from 'zod';
import { ConfigError } from './config-error.js';
import { ENV_VARS, type EnvName } from './env-schema.js';

// How a loader reads the environment: each value through its schema in env-schema.ts. A bad value is
// recorded as a ConfigError naming the variable and its default stands in, so start-up can run every
// loader over one reader and report every problem at once (startup-config.ts).

export type Env = Readonly<Record<string, string | undefined>>;
export type Setting<K extends EnvName> = z.output<(typeof ENV_VARS)[K]['schema']>;

export class EnvReader {
  readonly #env: Env;
  // One problem per variable: several loaders read TWILIO_AUTH_TOKEN, OPENAI_API_KEY, DEFAULT_REGION.
  readonly #problems = new Map<EnvName, ConfigError>();

  constructor(env: Env) {
    this.#env = env;
  }

  /** The trimmed value; undefined when unset or blank (an empty `NAME=` line in .env means unset). */
  raw(name: EnvName): string | undefined {
    const v = this.#env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  }

  isSet(name: EnvName): boolean {
    return this.raw(name) !== undefined;
  }

  /** The value as its schema reads it, its default when unset, and (recorded as a problem) when invalid. */
  get<K extends EnvName>(name: K): Setting<K> {
    const schema: z.ZodType = ENV_VARS[name].schema;
    const result = schema.safeParse(this.raw(name));
    if (result.success) return result.data as Setting<K>;
    this.problem(name, result.error.issues[0]?.message ?? 'invalid value');
    return schema.parse(undefined) as Setting<K>;
  }

  /** Records a problem with `name` (`message` is what follows the name); the first per variable is kept. */
  problem(name: EnvName, message: string): void {
    if (!this.#problems.has(name)) this.#problems.set(name, new ConfigError(name, message));
  }

  get problems(): readonly ConfigError[] {
    return [...this.#problems.values()];
  }
}

/** Plain variables (process.env, a test's object), or a reader shared by several loaders. */
export type EnvSource = Env | EnvReader;

/**
 * Runs a loader. On plain variables the first problem is thrown as a ConfigError once the loader is
 * done; on a shared reader problems are left for its owner to report together.
 */
export function readEnv<T>(source: EnvSource, load: (r: EnvReader) => T): T {
  if (source instanceof EnvReader) return load(source);
  const reader = new EnvReader(source);
  const result = load(reader);
  const [first] = reader.problems;
  if (first) throw first;
  return result;
}
