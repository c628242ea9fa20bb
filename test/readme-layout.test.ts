import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The README's layout section is the front door's map: every folder of src/ (two levels deep) and
// every top-level folder of the repository is named there, so a new folder cannot go unmentioned.

const readme = readFileSync('README.md', 'utf8');
const layout = readme.slice(readme.indexOf('## Layout'));
const block = layout.slice(layout.indexOf('```'), layout.indexOf('```', layout.indexOf('```') + 3));

function dirs(root: string, depth: number): string[] {
  const out: string[] = [];
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    if (!statSync(path).isDirectory()) continue;
    out.push(path);
    if (depth > 1) out.push(...dirs(path, depth - 1));
  }
  return out;
}

/** How a folder appears in the block: top-level as `name/`, nested as an indented `name/` under its parent. */
function listed(path: string): boolean {
  const parts = path.split('/');
  const name = `${parts.at(-1)}/`;
  if (parts.length === 1) return new RegExp(`(^|[\\s,])${name.replace('.', '\\.')}`, 'm').test(block);
  if (parts.length === 2) return block.includes(`${path}/`);
  // src/x/y: an indented "y/" line after the "src/x/" line.
  const parent = block.indexOf(`${parts.slice(0, 2).join('/')}/`);
  return parent >= 0 && new RegExp(`^\\s+${name}`, 'm').test(block.slice(parent));
}

describe('README layout', () => {
  it('names every folder of src/ and every top-level folder', () => {
    const top = readdirSync('.').filter(
      (n) => statSync(n).isDirectory() && !['node_modules', 'dist', 'data', '.git'].includes(n),
    );
    const missing = [...top, ...dirs('src', 2)].filter((p) => !listed(p));
    expect(missing).toEqual([]);
  });
});
