/**
 * The project's public signing keys (JWKS at <SUPABASE_URL>/auth/v1/.well-known/jwks.json),
 * fetched on first use, kept for a while and fetched again when a token names a key id we do not
 * know (key rotation). Fetches are rate-limited: however many tokens with made-up key ids arrive,
 * the JWKS is requested at most once per `minRefreshMs`, and concurrent requests share one fetch.
 */
import { AuthUnavailableError } from "./auth-errors.ts";

/** One public key of a JWKS, as Supabase Auth publishes it (EC P-256 or RSA). */
export interface Jwk {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
}

export interface JwksCacheOptions {
  url: string;
  /** Keys known up front (hosted functions get SUPABASE_JWKS); a miss still triggers a fetch. */
  initialKeys?: Jwk[];
  fetch?: typeof fetch;
  /** Never fetch more often than this, whatever tokens arrive. */
  minRefreshMs?: number;
  /** Keys older than this are fetched again on next use, so a revoked key stops being trusted. */
  maxAgeMs?: number;
  timeoutMs?: number;
  now?: () => number;
}

export interface JwksCache {
  /** The key with this id, fetching the JWKS again if allowed; undefined when it is not ours. */
  find(kid: string): Promise<Jwk | undefined>;
}

const MAX_JWKS_BYTES = 64 * 1024;

export function createJwksCache(options: JwksCacheOptions): JwksCache {
  const {
    url,
    fetch: fetchJwks = globalThis.fetch,
    minRefreshMs = 30_000,
    maxAgeMs = 10 * 60_000,
    timeoutMs = 5_000,
    now = Date.now,
  } = options;
  let keys: Jwk[] | null = options.initialKeys?.length ? options.initialKeys : null;
  let loadedAt = keys ? now() : 0;
  let lastAttemptAt: number | null = null;
  let inFlight: Promise<void> | null = null;

  const mayFetch = () => lastAttemptAt === null || now() - lastAttemptAt >= minRefreshMs;

  function refresh(): Promise<void> {
    if (inFlight) return inFlight;
    lastAttemptAt = now();
    inFlight = (async () => {
      try {
        const response = await fetchJwks(url, { redirect: "error", signal: AbortSignal.timeout(timeoutMs) });
        const text = await response.text();
        if (!response.ok || text.length > MAX_JWKS_BYTES) throw new Error(`JWKS answered ${response.status}`);
        keys = parseJwks(JSON.parse(text));
        loadedAt = now();
      } catch (error) {
        // The cause goes to the log only; callers see a 503 or an unknown key.
        console.error(
          JSON.stringify({
            event: "jwks_fetch_failed",
            url,
            message: String((error as Error)?.message ?? error),
          }),
        );
      } finally {
        inFlight = null;
      }
    })();
    return inFlight;
  }

  return {
    async find(kid) {
      const stale = keys === null || now() - loadedAt >= maxAgeMs;
      if (stale && mayFetch()) await refresh();
      else if (inFlight) await inFlight;
      if (keys === null) throw new AuthUnavailableError();
      const known = keys.find((key) => key.kid === kid);
      if (known || !mayFetch()) return known;
      await refresh();
      return keys.find((key) => key.kid === kid);
    },
  };
}

/** The usable signing keys of a JWKS document; anything else in it is ignored. */
export function parseJwks(document: unknown): Jwk[] {
  const list = (document as { keys?: unknown })?.keys;
  if (!Array.isArray(list)) throw new Error("JWKS has no keys array");
  return list.filter((key): key is Jwk =>
    key !== null && typeof key === "object" && typeof key.kty === "string" && typeof key.kid === "string" &&
    (key.use === undefined || key.use === "sig")
  );
}
