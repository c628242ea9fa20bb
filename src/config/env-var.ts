import type { z } from 'zod';

// One environment variable of the schema (env-schema.ts): the sections .env.example and the README
// group them under, and the shape of an entry.

export const ENV_SECTIONS = [
  'Server',
  'Model provider',
  'Calls',
  'SIP calls',
  'Edge',
  'Operations',
  'Receptionist tools',
  'Storage',
  'Development inspection',
  'SMS group chats',
  'Console',
] as const;
export type EnvSection = (typeof ENV_SECTIONS)[number];

export interface EnvVar<S extends z.ZodType = z.ZodType> {
  section: EnvSection;
  /** One line, as .env.example and the README say it. */
  description: string;
  /** Checks the trimmed, non-blank value; its `.default()` (or `.optional()`) says what unset means. */
  schema: S;
  /** The default in words, where it is not one plain value (computed, or a feature left off). */
  unset?: string;
}

export function variable<S extends z.ZodType>(
  section: EnvSection,
  description: string,
  schema: S,
  unset?: string,
): EnvVar<S> {
  return unset === undefined ? { section, description, schema } : { section, description, schema, unset };
}
