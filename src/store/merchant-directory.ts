import type { Merchant } from '../merchants/merchant.js';
import type { MerchantDirectory } from '../merchants/directory.js';
import type { MerchantRecord, Store } from './store.js';
import { log } from '../log.js';

// The call core's MerchantDirectory backed by the store: one indexed lookup per call. The calendar
// fields (tokens are secrets) are stripped so they never travel with the call's merchant object; the
// calendar tool reads them from the store when it needs them.

function callMerchant(r: MerchantRecord | null): Merchant | undefined {
  if (!r) return undefined;
  const { googleCalendarId: _calendar, googleTokens: _tokens, ...merchant } = r;
  return merchant;
}

export class StoreMerchantDirectory implements MerchantDirectory {
  // Last rows read, by id and by number: served only while the store is unreachable, so a database
  // outage does not stop calls from being answered (the store stays the source of truth otherwise).
  private readonly byIdCache = new Map<string, Merchant>();
  private readonly byNumberCache = new Map<string, Merchant>();
  private outageLogged = false;

  /** `fallbackId`: merchant for numbers nobody claims; without it such calls are refused. */
  constructor(
    private readonly store: Pick<Store, 'findMerchantByNumber' | 'getMerchant'> & Partial<Pick<Store, 'listMerchants'>>,
    private readonly fallbackId?: string,
  ) {}

  /** Reads every merchant once at start-up so an outage right after a restart still finds them. */
  async preload(): Promise<void> {
    for (const r of (await this.store.listMerchants?.()) ?? []) this.remember(callMerchant(r));
  }

  async byNumber(e164: string): Promise<Merchant | undefined> {
    return this.read(
      () => this.store.findMerchantByNumber(e164),
      () => this.byNumberCache.get(e164),
    );
  }

  async byId(id: string): Promise<Merchant | undefined> {
    return this.read(
      () => this.store.getMerchant(id),
      () => this.byIdCache.get(id),
    );
  }

  async fallback(): Promise<Merchant | undefined> {
    return this.fallbackId ? this.byId(this.fallbackId) : undefined;
  }

  private async read(
    load: () => Promise<MerchantRecord | null>,
    cached: () => Merchant | undefined,
  ): Promise<Merchant | undefined> {
    try {
      const m = callMerchant(await load());
      this.outageLogged = false;
      this.remember(m);
      return m;
    } catch (err) {
      const hit = cached();
      // A merchant not read before: with a fallback merchant in hand, `undefined` sends the call to it
      // (a caller answered by the default line beats silence); without one the error stands (the
      // webhook answers 500 and Twilio tries the number's fallback URL).
      if (!hit && !this.fallbackCached()) throw err;
      if (!this.outageLogged) {
        this.outageLogged = true;
        log.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'store unreachable: answering calls with the merchants read before',
        );
      }
      return hit;
    }
  }

  private fallbackCached(): boolean {
    return this.fallbackId !== undefined && this.byIdCache.has(this.fallbackId);
  }

  private remember(m: Merchant | undefined): void {
    if (!m) return;
    this.byIdCache.set(m.id, m);
    for (const n of m.phoneNumbers) this.byNumberCache.set(n, m);
  }
}
