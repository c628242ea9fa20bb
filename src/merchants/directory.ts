import type { Merchant } from './merchant.js';

// How the call core finds the merchant for a call: by the number that was dialled (Twilio's `To`)
// or by the id passed along as a stream <Parameter>. Storage provides a database-backed directory.
export interface MerchantDirectory {
  byNumber(e164: string): Promise<Merchant | undefined>;
  byId(id: string): Promise<Merchant | undefined>;
  /** Used when the dialled number matches no merchant; undefined means such calls are refused. */
  fallback(): Promise<Merchant | undefined>;
}

export class StaticMerchantDirectory implements MerchantDirectory {
  constructor(
    private readonly merchants: Merchant[],
    private readonly defaultId?: string,
  ) {}

  async byNumber(e164: string): Promise<Merchant | undefined> {
    return this.merchants.find((m) => m.phoneNumbers.includes(e164));
  }

  async byId(id: string): Promise<Merchant | undefined> {
    return this.merchants.find((m) => m.id === id);
  }

  async fallback(): Promise<Merchant | undefined> {
    return this.defaultId ? this.merchants.find((m) => m.id === this.defaultId) : this.merchants[0];
  }
}
