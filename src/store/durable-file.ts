import { open, rename } from 'node:fs/promises';

// The two ways the outbox files are written. Both fsync before returning: a line that was said to be
// written survives the process and the host going down. Files are private to the relay (0600).

/** Appends `text` and flushes it to disk. */
export async function appendDurably(file: string, text: string): Promise<void> {
  const fh = await open(file, 'a', 0o600);
  try {
    await fh.appendFile(text, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Replaces the whole file atomically: a temp file, flushed, renamed over it (a crash leaves old or new). */
export async function replaceDurably(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}
