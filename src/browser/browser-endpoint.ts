import type { Config } from '../config.js';
import type { ProviderName } from '../merchants/merchant.js';
import { endpointFor, type ModelEndpoint } from '../providers/endpoint.js';

// Which model a browser session talks to: PROVIDER by default; a browser may ask for another one with
// `?provider=openai|xai|sim`, but only one the relay can actually serve (its API key is configured, or
// for `sim` the local simulated agent runs), so a client cannot pick a provider the operator did not
// enable. The model and URL always come from configuration, never from the client.

/** The part of a ModelEndpoint the relay needs to open the upstream socket. */
export type RelayEndpoint = Pick<ModelEndpoint, 'provider' | 'baseUrl' | 'apiKey' | 'model'> & {
  dialect: NonNullable<ModelEndpoint['dialect']>;
};

export type EndpointChoice = { ok: true; endpoint: RelayEndpoint } | { ok: false; error: string };

export type EndpointResolver = (requested: string | undefined) => EndpointChoice;

function isProvider(v: string): v is ProviderName {
  return v === 'openai' || v === 'openai-live' || v === 'xai' || v === 'sim';
}

/**
 * @param simUrl ws:// URL of the local simulated agent, when it runs (PROVIDER=sim).
 */
export function browserEndpointResolver(config: Config, simUrl?: string): EndpointResolver {
  const available = (p: ProviderName): boolean => {
    switch (p) {
      case 'openai':
        return config.openai.apiKey !== undefined;
      case 'xai':
        return config.xai.apiKey !== undefined;
      case 'sim':
        return simUrl !== undefined && config.nodeEnv !== 'production';
      // Refused below with its reason: the browser relay passes Realtime events through as they are.
      case 'openai-live':
        return true;
    }
  };
  return (requested) => {
    const name = requested === undefined || requested === '' ? config.provider : requested;
    if (!isProvider(name))
      return {
        ok: false,
        error: `unknown provider ${JSON.stringify(name.slice(0, 32))} (expected openai, xai or sim)`,
      };
    if (!available(name)) return { ok: false, error: `provider ${name} is not configured on this relay` };
    const endpoint = endpointFor(name, config, simUrl);
    const { dialect } = endpoint;
    if (dialect === null)
      return { ok: false, error: `provider ${name} cannot serve browser sessions (they speak the Realtime protocol)` };
    return { ok: true, endpoint: { ...endpoint, dialect } };
  };
}
