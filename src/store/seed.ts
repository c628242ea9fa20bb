import { demoMerchant } from '../merchants/demo-merchant.js';
import { log } from '../log.js';
import type { MerchantInput, MerchantRecord, Store } from './store.js';

// The demo merchant (Sunny Side Dental) as a stored merchant, so a fresh install answers its
// Twilio test number with all five receptionist tools. The call core's demoMerchant is the single
// definition; provider and voice stay unset on purpose so PROVIDER and the provider's default voice
// apply (a fixed voice would not exist on the other provider).

export const seedMerchant: MerchantInput = { ...demoMerchant, googleCalendarId: null };

/** Writes the demo merchant (over any earlier copy of it). */
export function seedDemoMerchant(store: Pick<Store, 'upsertMerchant'>): Promise<MerchantRecord> {
  return store.upsertMerchant(seedMerchant);
}

/** First start: an empty merchants table gets the demo merchant; anything already there is left alone. */
export async function seedIfEmpty(
  store: Pick<Store, 'listMerchants' | 'upsertMerchant'>,
): Promise<MerchantRecord | null> {
  if ((await store.listMerchants()).length > 0) return null;
  const m = await seedDemoMerchant(store);
  log.info({ merchantId: m.id }, 'no merchants yet: demo merchant seeded');
  return m;
}
