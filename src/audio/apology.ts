import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The spoken apology (assets/apology.ulaw, raw 8 kHz mu-law) played by the relay itself when the
// model is gone. Found relative to the package root so it works from src/ (tsx) and dist/ (node).
export function loadApologyClip(): Buffer {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'assets', 'apology.ulaw');
    if (existsSync(candidate)) return readFileSync(candidate);
    dir = dirname(dir);
  }
  throw new Error('assets/apology.ulaw is missing from the installation');
}
