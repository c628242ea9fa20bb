import type { ToolExecutor, ToolSpec } from './tool.js';
import type { EnvSource } from '../config.js';
import type { Merchant } from '../merchants/merchant.js';
import type { NotifyOwner } from '../notify/owner-sms.js';
import type { Store } from '../store/store.js';
import { createCalendarFor, googleConfigFromEnv } from './calendar-for.js';
import { createToolExecutor, toolSpecsFor } from './registry.js';
import { defaultRegionFromEnv } from './validate.js';

// The receptionist tools wired for a running relay: the executor the call chart runs tools through
// and the specs each merchant's model session declares. Throws ConfigError for a bad
// DEFAULT_REGION / GOOGLE_* URL.

export { createCalendarFor, googleConfigFromEnv, type CalendarFor, type GoogleConfig } from './calendar-for.js';
export { createToolExecutor, toolSpecsFor, TOOLS, type ToolExecutorDeps } from './registry.js';
export { defaultRegionFromEnv } from './validate.js';

export interface InstalledTools {
  runTool: ToolExecutor;
  toolSpecs: (merchant: Merchant) => ToolSpec[];
}

export function installTools(store: Store, env: EnvSource, notifyOwner?: NotifyOwner): InstalledTools {
  const calendarFor = createCalendarFor({ store, google: googleConfigFromEnv(env) });
  return {
    runTool: createToolExecutor({ store, calendarFor, defaultRegion: defaultRegionFromEnv(env), notifyOwner }),
    toolSpecs: toolSpecsFor,
  };
}
