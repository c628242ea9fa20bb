import type { ConsoleLink, Store } from '../store/store.js';
import { newLinkToken, signInLink } from './link-token.js';

// Making and revoking owners' sign-in links (npm run merchant -- --link ID). The link is shown once;
// only its hash is stored, so a lost link is replaced, never recovered.

export const DEFAULT_LINK_DAYS = 30;
export const MAX_LINK_DAYS = 365;

export async function createSignInLink(
  store: Pick<Store, 'getMerchant' | 'createConsoleLink'>,
  merchantId: string,
  origin: string,
  days = DEFAULT_LINK_DAYS,
  now = Date.now(),
): Promise<{ link: string; record: ConsoleLink } | null> {
  if (!(await store.getMerchant(merchantId))) return null;
  const { token, hash } = newLinkToken();
  const record = await store.createConsoleLink(merchantId, hash, new Date(now + days * 86_400_000));
  return { link: signInLink(origin, token), record };
}
