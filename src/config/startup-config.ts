import { loadConfig, type Config } from '../config.js';
import { loadEdgeConfig, type EdgeConfig } from '../http/edge-config.js';
import { parseInspectEnv } from '../obs/inspect.js';
import { loadSmsConfig, type SmsConfig } from '../sms/sms-config.js';
import { storeConfigFromEnv } from '../store/open-store.js';
import { googleConfigFromEnv } from '../tools/calendar-for.js';
import { defaultRegionFromEnv } from '../tools/validate.js';
import { ConfigProblems } from './config-error.js';
import { EnvReader, type Env } from './env-reader.js';

// Start-up reads every setting the relay has in one pass, so a deployment with three bad or missing
// settings hears about all three at once instead of one per restart.

export interface StartupConfig {
  config: Config;
  edge: EdgeConfig;
  /** null when SMS is off (TWILIO_ACCOUNT_SID unset). */
  sms: SmsConfig | null;
}

/** Runs every loader over `env`; throws ConfigProblems listing each bad or missing setting. */
export function loadStartupConfig(env: Env): StartupConfig {
  const reader = new EnvReader(env);
  const config = loadConfig(reader);
  const edge = loadEdgeConfig(reader, config);
  const sms = loadSmsConfig(reader);
  // The rest are built again where they are used (startRelay); here they are only checked.
  googleConfigFromEnv(reader);
  defaultRegionFromEnv(reader);
  storeConfigFromEnv(reader);
  parseInspectEnv(reader);
  if (reader.problems.length > 0) throw new ConfigProblems(reader.problems);
  return { config, edge, sms };
}
