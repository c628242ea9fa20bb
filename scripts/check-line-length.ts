import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

// The formatter wraps code at biome.json's lineWidth but leaves long strings and comments alone;
// this check holds those to the same width, so no line in the tree is longer than the formatter allows.

const { formatter } = JSON.parse(readFileSync('biome.json', 'utf8')) as { formatter: { lineWidth: number } };
const limit = formatter.lineWidth;
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts'], {
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => f !== '');
const long: string[] = [];
for (const file of files) {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    continue; // deleted in the work tree
  }
  text.split('\n').forEach((line, i) => {
    if (line.length > limit) long.push(`${file}:${i + 1}: ${line.length} characters (limit ${limit})`);
  });
}
if (long.length > 0) {
  console.error(long.join('\n'));
  console.error(`check-line-length: ${long.length} line(s) longer than ${limit} characters`);
  process.exit(1);
}
console.log(`check-line-length: ${files.length} files, no line over ${limit} characters`);
