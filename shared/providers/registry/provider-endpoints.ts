/**
 * The adapter options an operator's endpoint config (REELFORGE_PROVIDER_BASE_URLS, parsed by
 * shared/provider-endpoints-config.ts) gives each HTTP adapter.
 */
import type { EndpointProvider, ProviderEndpoints } from "../../provider-endpoints-config.ts";
import type { AdapterOptions } from "../adapter-options.ts";

export type { EndpointProvider, ProviderEndpoints };

/** The adapter options one provider's endpoint config gives; spread last so nothing overrides it. */
export function endpointOptions(
  endpoints: ProviderEndpoints | undefined,
  provider: EndpointProvider,
): Pick<AdapterOptions, "baseUrl" | "allowInsecureUrls"> {
  const baseUrl = endpoints?.baseUrls[provider];
  return { ...(baseUrl ? { baseUrl } : {}), allowInsecureUrls: endpoints?.allowInsecureUrls ?? false };
}
