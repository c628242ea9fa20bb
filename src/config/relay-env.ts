import type { Env } from './env-reader.js';

/**
 * The environment the running relay takes its settings from: the one place it reads process.env.
 * Loaders take their variables as an argument; entry points and the composition root pass this.
 */
export function relayEnv(): Env {
  return process.env;
}
