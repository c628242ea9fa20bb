import type { Merchant } from '../merchants/merchant.js';
import type { MerchantDirectory } from '../merchants/directory.js';
import type { MerchantRecord, Store } from './store.js';

// The call core's MerchantDirectory backed by the store: one indexed lookup per call. The calendar
// fields (tokens are secrets) are stripped so they never travel with the call's merchant object; the
// calendar tool reads them from the store when it needs them.

function callMerchant(r: MerchantRecord | null): Merchant | undefined {
  if (!r) return undefined;
  const { googleCalendarId: _calendar, googleTokens: _tokens, ...merchant } = r;
  return merchant;
}

export class StoreMerchantDirectory implements MerchantDirectory {
  /** `fallbackId`: merchant for numbers nobody claims; without it such calls are refused. */
  constructor(
    private readonly store: Pick<Store, 'findMerchantByNumber' | 'getMerchant'>,
    private readonly fallbackId?: string,
  ) {}

  async byNumber(e164: string): Promise<Merchant | undefined> {
    return callMerchant(await this.store.findMerchantByNumber(e164));
  }

  async byId(id: string): Promise<Merchant | undefined> {
    return callMerchant(await this.store.getMerchant(id));
  }

  async fallback(): Promise<Merchant | undefined> {
    return this.fallbackId ? this.byId(this.fallbackId) : undefined;
  }
}
