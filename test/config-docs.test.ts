import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ENV_NAMES, ENV_SECTIONS, ENV_VARS, type EnvName, type EnvSection } from '../src/config/env-schema.js';

// The schema in src/config/env-schema.ts is the list of settings; .env.example and the README's
// Configuration table are its documentation. A variable added, renamed or dropped in one place and
// not the others fails here.

const root = new URL('../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

const isEnvName = (name: string): name is EnvName => Object.hasOwn(ENV_VARS, name);

interface ExampleLine {
  name: string;
  value: string;
  /** The `# --- Section ---` header it stands under. */
  section: EnvSection | undefined;
}

/**
 * `NAME=value` lines of .env.example (comments skipped), with the section header each is under. A
 * variable commented out on purpose is written `#NAME=value` (no space), so an env file copied from it
 * cannot override what the image sets (NODE_ENV); it still counts as listed.
 */
function envExample(): ExampleLine[] {
  const lines: ExampleLine[] = [];
  let section: EnvSection | undefined;
  for (const line of read('.env.example').split('\n')) {
    const header = /^# --- (.+?) -+$/.exec(line);
    if (header?.[1] !== undefined) {
      const title = header[1];
      section = ENV_SECTIONS.find((s) => title.startsWith(s));
      continue;
    }
    const m = /^#?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m?.[1] !== undefined) lines.push({ name: m[1], value: m[2] ?? '', section });
  }
  return lines;
}

/** Variables named (in backticks) in the first column of the README's `## Configuration` table. */
function readmeTable(): string[] {
  const readme = read('README.md');
  const start = readme.indexOf('\n## Configuration\n');
  expect(start, 'README.md has a "## Configuration" section').toBeGreaterThanOrEqual(0);
  const rest = readme.slice(start + 1);
  const next = rest.indexOf('\n## ', 1);
  const section = next === -1 ? rest : rest.slice(0, next);
  const names: string[] = [];
  for (const row of section.split('\n').filter((l) => l.startsWith('|'))) {
    const first = row.split('|')[1] ?? '';
    for (const m of first.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) if (m[1] !== undefined) names.push(m[1]);
  }
  return names;
}

const missingFrom = (names: readonly string[], wanted: readonly string[]): string[] =>
  wanted.filter((n) => !names.includes(n));

describe('configuration documentation', () => {
  it('.env.example lists every variable of the schema, once, and nothing else', () => {
    const names = envExample().map((l) => l.name);
    expect(missingFrom(names, ENV_NAMES), 'in the schema, missing from .env.example').toEqual([]);
    expect(
      names.filter((n) => !isEnvName(n)),
      'in .env.example, not in the schema',
    ).toEqual([]);
    expect(
      names.filter((n, i) => names.indexOf(n) !== i),
      'listed twice in .env.example',
    ).toEqual([]);
  });

  it("the README's Configuration table lists every variable of the schema, and nothing else", () => {
    const names = readmeTable();
    expect(names.length).toBeGreaterThan(0);
    expect(missingFrom(names, ENV_NAMES), 'in the schema, missing from the README table').toEqual([]);
    expect(
      names.filter((n) => !isEnvName(n)),
      'in the README table, not in the schema',
    ).toEqual([]);
  });

  it('.env.example groups the variables under the sections of the schema', () => {
    const misplaced = envExample()
      .filter((l) => isEnvName(l.name) && ENV_VARS[l.name].section !== l.section)
      .map((l) => `${l.name} is under ${l.section ?? 'no section'}`);
    expect(misplaced).toEqual([]);
  });

  it('.env.example values are valid, and show the default where the schema has one plain value', () => {
    const problems: string[] = [];
    for (const { name, value } of envExample()) {
      if (!isEnvName(name) || value.trim() === '') continue;
      const spec = ENV_VARS[name];
      const schema: z.ZodType = spec.schema;
      const parsed = schema.safeParse(value.trim());
      if (!parsed.success) problems.push(`${name}=${value}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      else if (!('unset' in spec) && schema instanceof z.ZodDefault) {
        const fallback = String(schema.def.defaultValue);
        if (value.trim() !== fallback) problems.push(`${name}=${value}, but its default is ${fallback}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('.env.example sets no NODE_ENV: the Docker image runs production even with --env-file .env', () => {
    expect(read('.env.example')).not.toMatch(/^NODE_ENV=/m);
  });

  it('every variable has a one-line description', () => {
    const bad = ENV_NAMES.filter((n) => {
      const d = ENV_VARS[n].description;
      return d.trim() === '' || d.includes('\n');
    });
    expect(bad).toEqual([]);
  });
});
