/**
 * Openverse image search (the `search` provider type): openly licensed images, each with its
 * licence and a ready credit line, for locations a film wants from the real world.
 *
 * API facts relied on (api.openverse.org/v1 docs, the Image schema of its OpenAPI): `GET
 * /v1/images/?q=<text>&page_size=<n>` answers `{result_count, page_count, page_size, page,
 * results: Image[]}`; an Image has `url` (the file), `foreign_landing_url` (the work's page),
 * `creator`, `license` (a code: by, by-sa, cc0, pdm…), `license_version`, `license_url`,
 * `attribution` (the credit line Openverse composes), `width`, `height`, `filetype`, each but
 * `license` possibly null. `license_type=commercial|modification` keeps only works whose licence
 * allows that use. Auth is OAuth2 client credentials: `POST /v1/auth_tokens/token/` with the form
 * fields client_id, client_secret, grant_type=client_credentials answers `{access_token,
 * token_type: "Bearer", expires_in, scope}`; requests carry `Authorization: Bearer <token>`.
 * Anonymous calls are allowed but limited (about 20/min, 200/day), so a key is required here.
 *
 * The sealed API key is `<client_id>:<client_secret>`. The token is kept in this adapter (one per
 * film slice) until shortly before it expires.
 */
import { z } from "zod";
import { type AdapterOptions, httpOptions } from "../adapter-options.ts";
import { createProviderHttp } from "../http/provider-fetch.ts";
import { ProviderError, ProviderInputError } from "../provider-errors.ts";
import type { ImageSearchRequest, ImageSearchResult, SearchProvider } from "../types.ts";

export const OPENVERSE_API = "https://api.openverse.org";
/** Openverse's page_size ceiling for authenticated clients is larger; 20 is plenty of candidates. */
const MAX_RESULTS = 20;
const TOKEN_TIMEOUT_MS = 10_000;

const imageSchema = z.object({
  url: z.string().nullish(),
  foreign_landing_url: z.string().nullish(),
  creator: z.string().nullish(),
  license: z.string(),
  license_version: z.string().nullish(),
  license_url: z.string().nullish(),
  attribution: z.string().nullish(),
  width: z.number().nullish(),
  height: z.number().nullish(),
});
const searchSchema = z.object({ results: z.array(imageSchema) });
const tokenSchema = z.object({ access_token: z.string().min(1), expires_in: z.number() });

export interface OpenverseSearchOptions extends AdapterOptions {
  /** Openverse's license_type filter; absent = every open licence. */
  licenseType?: "commercial" | "modification";
  now?: () => number;
}

/** `<client_id>:<client_secret>`, split at the first colon; anything else is a broken key. */
export function openverseCredentials(apiKey: string): { clientId: string; clientSecret: string } {
  const at = apiKey.indexOf(":");
  if (at <= 0 || at === apiKey.length - 1) {
    throw new ProviderInputError("openverse", "openverse", "the API key must be <client_id>:<client_secret>");
  }
  return { clientId: apiKey.slice(0, at), clientSecret: apiKey.slice(at + 1) };
}

/** One result as a candidate, or null when it lacks a file URL or a credit line cannot be made. */
export function toSearchResult(image: z.infer<typeof imageSchema>): ImageSearchResult | null {
  if (!image.url) return null;
  const licence = `${image.license.toUpperCase()}${image.license_version ? ` ${image.license_version}` : ""}`;
  const attribution = image.attribution?.trim() ||
    `${image.creator ? `By ${image.creator}, ` : ""}licensed under ${licence}`;
  return {
    url: image.url,
    sourceUrl: image.foreign_landing_url ?? null,
    width: image.width ?? null,
    height: image.height ?? null,
    license: image.license,
    licenseVersion: image.license_version ?? null,
    licenseUrl: image.license_url ?? null,
    creator: image.creator ?? null,
    attribution,
  };
}

export function createOpenverseSearch(options: OpenverseSearchOptions): SearchProvider {
  const baseUrl = (options.baseUrl ?? OPENVERSE_API).replace(/\/+$/, "");
  const { clientId, clientSecret } = openverseCredentials(options.apiKey);
  const now = options.now ?? Date.now;
  const http = createProviderHttp({ provider: "openverse", baseUrl, headers: {}, ...httpOptions(options) });
  let token: { value: string; until: number } | null = null;

  // The token endpoint takes a form, not JSON: a plain fetch with its own timeout, never retried
  // blindly (a failure here fails the search, and the location is generated instead).
  async function accessToken(): Promise<string> {
    if (token && token.until > now()) return token.value;
    let response: Response;
    try {
      response = await (options.fetch ?? globalThis.fetch)(`${baseUrl}/v1/auth_tokens/token/`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: clientId,
          client_secret: clientSecret,
        }),
        signal: AbortSignal.timeout(options.timeoutMs ?? TOKEN_TIMEOUT_MS),
      });
    } catch (error) {
      throw new ProviderError(
        { provider: "openverse", failureCode: "token_unreachable", retryable: true },
        "the token endpoint did not answer",
        { cause: error },
      );
    }
    const parsed = tokenSchema.safeParse(await response.json().catch(() => null));
    if (!response.ok || !parsed.success) {
      throw new ProviderError(
        {
          provider: "openverse",
          httpStatus: response.status,
          failureCode: response.status === 401 || response.status === 400 ? "unauthorized" : "token_failed",
          retryable: response.status >= 500 || response.status === 429,
        },
        "no access token for these client credentials",
      );
    }
    // A minute's margin: a token that expires mid-request is a needless 401.
    token = { value: parsed.data.access_token, until: now() + (parsed.data.expires_in - 60) * 1000 };
    return token.value;
  }

  return {
    provider: "openverse",
    model: options.model,
    allowInsecureUrls: options.allowInsecureUrls ?? false,
    async searchImages(request: ImageSearchRequest): Promise<ImageSearchResult[]> {
      const query = request.query.trim().slice(0, 200);
      if (!query) throw new ProviderInputError("openverse", options.model, "the search query is empty");
      const params = new URLSearchParams({
        q: query,
        page_size: String(Math.max(1, Math.min(request.limit, MAX_RESULTS))),
        mature: "false",
        ...(options.licenseType ? { license_type: options.licenseType } : {}),
      });
      const answer = await http.request({
        method: "GET",
        path: `/v1/images/?${params}`,
        headers: { authorization: `Bearer ${await accessToken()}` },
        schema: searchSchema,
      });
      return answer.data.results.map(toSearchResult).filter((r): r is ImageSearchResult => r !== null);
    },
  };
}
