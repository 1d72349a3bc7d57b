/**
 * Where the HTTP adapters send their calls when not to the providers' own hosts. This is operator
 * config — the function secrets `REELFORGE_PROVIDER_BASE_URLS` (a JSON object, provider → API
 * root) and `REELFORGE_ALLOW_INSECURE_PROVIDER_URLS` ("1": http API roots, media and output URLs
 * are accepted) — used by tests to reach the contract fakes and by operators behind an egress
 * proxy. It is never a user setting: a user registering a provider cannot name a host (SSRF), see
 * providers/registry/provider-catalog.ts.
 *
 * Parsed here, beside config.ts (which checks it at load so a function fails fast), because it is
 * operator config; the adapters read it through providers/registry/provider-endpoints.ts.
 *
 * An API root is what the adapter appends its paths to, the same root its default names:
 * `https://api.openai.com/v1` for openai (so include `/v1`), `https://api.dev.runwayml.com` for
 * runway, `https://queue.fal.run` for fal (image and hosted FFmpeg), `https://api.elevenlabs.io`,
 * `https://api.sync.so`, `https://public-api.beatoven.ai`, `https://api.openverse.org` (no /v1).
 */
export const ENDPOINT_PROVIDERS = [
  "openai",
  "runway",
  "fal",
  "elevenlabs",
  "sync",
  "beatoven",
  "openverse",
] as const;
export type EndpointProvider = (typeof ENDPOINT_PROVIDERS)[number];

export interface ProviderEndpoints {
  baseUrls: Partial<Record<EndpointProvider, string>>;
  /** Accept http:// API roots, media and output URLs (local fakes and stacks only). */
  allowInsecureUrls: boolean;
}

export interface ProviderEndpointEnv {
  REELFORGE_PROVIDER_BASE_URLS?: string;
  REELFORGE_ALLOW_INSECURE_PROVIDER_URLS?: string;
}

export const DEFAULT_PROVIDER_ENDPOINTS: ProviderEndpoints = Object.freeze({
  baseUrls: Object.freeze({}),
  allowInsecureUrls: false,
});

/** Reads both secrets; any problem throws naming the secret and the provider, so a function fails fast. */
export function parseProviderEndpoints(env: ProviderEndpointEnv): ProviderEndpoints {
  const insecure = env.REELFORGE_ALLOW_INSECURE_PROVIDER_URLS ?? "";
  if (!["", "0", "1"].includes(insecure)) {
    throw new Error(
      `REELFORGE_ALLOW_INSECURE_PROVIDER_URLS must be "1" or "0", not "${insecure.slice(0, 20)}"`,
    );
  }
  const allowInsecureUrls = insecure === "1";
  const raw = env.REELFORGE_PROVIDER_BASE_URLS?.trim();
  if (!raw) return { baseUrls: {}, allowInsecureUrls };

  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error("REELFORGE_PROVIDER_BASE_URLS must be a JSON object of provider → base URL");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error("REELFORGE_PROVIDER_BASE_URLS must be a JSON object of provider → base URL");
  }
  const baseUrls: ProviderEndpoints["baseUrls"] = {};
  for (const [provider, value] of Object.entries(parsed)) {
    if (!(ENDPOINT_PROVIDERS as readonly string[]).includes(provider)) {
      throw new Error(
        `REELFORGE_PROVIDER_BASE_URLS: unknown provider "${provider}"; expected some of ${
          ENDPOINT_PROVIDERS.join(", ")
        }`,
      );
    }
    baseUrls[provider as EndpointProvider] = checkBaseUrl(provider, value, allowInsecureUrls);
  }
  return { baseUrls, allowInsecureUrls };
}

function checkBaseUrl(provider: string, value: unknown, allowInsecureUrls: boolean): string {
  const problem = (why: string) => new Error(`REELFORGE_PROVIDER_BASE_URLS.${provider}: ${why}`);
  if (typeof value !== "string") throw problem("must be a URL string");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw problem("is not a URL");
  }
  if (url.protocol === "http:" && !allowInsecureUrls) {
    throw problem("http:// needs REELFORGE_ALLOW_INSECURE_PROVIDER_URLS=1");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw problem("must be an https:// URL");
  // Keys travel in headers; a URL with credentials, a query or a fragment is a mistake.
  if (url.username || url.password || url.search || url.hash) {
    throw problem("must be a plain API root (no credentials, query or fragment)");
  }
  return value.replace(/\/+$/, "");
}
