import { pino, type Logger } from 'pino';
import { logLevelOr, relayEnv } from './config.js';

// One process-wide logger; per-call children carry callSid/streamSid so every line of a call can be
// grepped. Phone numbers go through maskPhone before they are logged.
export type { Logger };

// The level until main applies the configured one. VITEST is the test runner's own flag, not a relay
// setting: tests log nothing unless LOG_LEVEL asks.
const level = logLevelOr(relayEnv(), process.env.VITEST ? 'silent' : 'info');

export const log: Logger = pino({
  level,
  base: { svc: 'callrelay' },
  redact: {
    paths: ['*.apiKey', '*.authToken', '*.token', '*.authorization', 'headers.authorization'],
    censor: '[redacted]',
  },
});

/** +14155550123 → +1415•••0123: enough to tell calls apart, not enough to dial. */
export function maskPhone(phone: string | undefined): string | undefined {
  if (!phone) return phone;
  const p = phone.trim();
  if (p.length <= 6) return '•'.repeat(p.length);
  return p.slice(0, 5) + '•'.repeat(Math.max(1, p.length - 9)) + p.slice(-4);
}
