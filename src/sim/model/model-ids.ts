// Ids shaped like the real APIs' (`event_…`, `item_…`, `resp_…`, `call_…`). A random per-session
// nonce plus a counter keeps them unique across hundreds of sessions without a crypto call per event.
import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export type IdPrefix = 'event' | 'item' | 'resp' | 'call' | 'sess' | 'conv';

export class IdGen {
  private readonly nonce: string;
  private n = 0;

  constructor() {
    const bytes = randomBytes(8);
    let s = '';
    for (const b of bytes) s += ALPHABET[b % ALPHABET.length] ?? 'x';
    this.nonce = s;
  }

  next(prefix: IdPrefix): string {
    this.n++;
    return `${prefix}_${this.nonce}${this.n.toString(36).padStart(5, '0')}`;
  }
}
