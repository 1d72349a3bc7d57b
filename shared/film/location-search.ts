/**
 * A location image found on the web (locations marked needs_web_search, with a search provider
 * registered): search, check the candidates in order, copy the first that passes into our
 * Storage, and keep its licence and credit line. Anything short of that — the search failing, no
 * candidate passing — is an answer too: the reason, and the caller generates the image instead.
 *
 * A candidate passes when its declared size is at least MIN_WIDTH×MIN_HEIGHT, its host is public
 * (the same outbound guard as every copy), a HEAD answers 2xx without redirect with an image/*
 * type and at most MAX_BYTES (checkMediaUrl), and the copy itself succeeds (it enforces type and
 * size again on the body). Declared sizes are the provider's word; the image is not decoded.
 * A candidate already in our media bucket (the offline `local` provider's) is used where it is,
 * as store-output.ts does with local outputs: the bucket is private, so a HEAD could not pass. An
 * object of ours that is not the owner's (nor shared) is refused: a search's answer is a third
 * party's, and may name another tenant's private picture.
 */
import { TargetNotAllowedError } from "../errors.ts";
import { lookupAllAddresses } from "../net/dns-lookup.ts";
import { createOutboundGuard, type ResolveHost } from "../net/outbound-guard.ts";
import { copyToStorage } from "../providers/copy-to-storage.ts";
import { checkMediaUrl } from "../providers/http/media-url.ts";
import type { ImageSearchResult, SearchProvider } from "../providers/types.ts";
import { ownerObjects, readableObject } from "../storage/owner-objects.ts";
import type { ObjectStorage } from "../storage/storage.ts";

/** Smallest image worth a location reference: below this a video model upscales mush. */
export const MIN_WIDTH = 640;
export const MIN_HEIGHT = 360;
/** Largest file we copy: a reference frame needs no more, and the copy streams within a function. */
export const MAX_BYTES = 20 * 1024 * 1024;
/** Candidates asked for, and so checked at most: a search's best matches come first. */
export const SEARCH_LIMIT = 8;
/**
 * Time for checking and copying candidates, so the whole search fits in one slice (the wall clock
 * is 150 s by default): a candidate is not started after it, and one copy takes at most COPY_MS.
 */
export const CHECK_BUDGET_MS = 60_000;
const COPY_MS = 30_000;

export type Tried<T> = { ok: true; value: T } | { ok: false; problem: string };

/** The first candidate `attempt` accepts, in order, with why each one before it was refused. */
export async function chooseCandidate<C, T>(
  candidates: readonly C[],
  attempt: (candidate: C) => Promise<Tried<T>>,
): Promise<{ chosen: { candidate: C; value: T } | null; refused: string[] }> {
  const refused: string[] = [];
  for (const candidate of candidates) {
    const tried = await attempt(candidate);
    if (tried.ok) return { chosen: { candidate, value: tried.value }, refused };
    refused.push(tried.problem);
  }
  return { chosen: null, refused };
}

/** What is wrong with a candidate before any request: missing or too small declared dimensions. */
export function declaredProblem(candidate: ImageSearchResult): string | null {
  const { width, height } = candidate;
  if (width === null || height === null) return "no declared dimensions";
  if (width < MIN_WIDTH || height < MIN_HEIGHT) {
    return `${width}×${height} is under ${MIN_WIDTH}×${MIN_HEIGHT}`;
  }
  return null;
}

/** The search query for a location: its name and the start of its description. */
export function locationQuery(name: string, description: string): string {
  const words = description.split(/\s+/).filter(Boolean).slice(0, 8).join(" ");
  return `${name} ${words}`.trim().slice(0, 120);
}

export interface LocationSearchDeps {
  search: SearchProvider;
  storage: ObjectStorage;
  bucket: string;
  /** Whose film it is: of our objects, a candidate may only be theirs or a shared one. */
  ownerId: string;
  fetch?: typeof fetch;
  resolve?: ResolveHost;
  /** Default CHECK_BUDGET_MS; the caller passes less when its slice has less left. */
  budgetMs?: number;
  now?: () => number;
}

export type FoundImage = ImageSearchResult & { storedUrl: string };
export type LocationSearch = { found: FoundImage } | { found: null; reason: string };

const messageOf = (error: unknown) => error instanceof Error ? error.message : String(error);

/** Searches `query` and copies the first passing candidate to `bucket/path`; never throws for the provider's faults. */
export async function searchLocationImage(
  deps: LocationSearchDeps,
  query: string,
  path: string,
): Promise<LocationSearch> {
  const { search } = deps;
  const insecure = search.allowInsecureUrls === true;
  let results: ImageSearchResult[];
  try {
    results = await search.searchImages({ query, limit: SEARCH_LIMIT });
  } catch (error) {
    return { found: null, reason: `search failed: ${messageOf(error)}`.slice(0, 500) };
  }
  if (results.length === 0) return { found: null, reason: `search found nothing for "${query}"` };
  const guard = createOutboundGuard({ allowPrivate: insecure, resolve: deps.resolve ?? lookupAllAddresses });
  const now = deps.now ?? Date.now;
  const until = now() + (deps.budgetMs ?? CHECK_BUDGET_MS);
  const mine = ownerObjects(deps.ownerId, deps.bucket);
  const { chosen, refused } = await chooseCandidate(
    results.slice(0, SEARCH_LIMIT),
    async (candidate): Promise<Tried<string>> => {
      const declared = declaredProblem(candidate);
      if (declared) return { ok: false, problem: declared };
      const left = until - now();
      if (left <= 0) return { ok: false, problem: "not checked: the search's time ran out" };
      const ours = readableObject(deps.storage, candidate.url, mine);
      if (ours === "not_yours") {
        return { ok: false, problem: "a file in our Storage that is not the owner's" };
      }
      if (ours !== null) return { ok: true, value: candidate.url };
      try {
        await guard.checkHost(new URL(candidate.url).hostname, "the image URL");
        await checkMediaUrl({
          provider: search.provider,
          model: search.model,
          url: candidate.url,
          kind: "image",
          maxBytes: MAX_BYTES,
          fetch: deps.fetch,
          allowInsecureUrls: insecure,
        });
        const copy = await copyToStorage({
          provider: search.provider,
          url: candidate.url,
          kind: "image",
          storage: deps.storage,
          bucket: deps.bucket,
          path,
          maxBytes: MAX_BYTES,
          timeoutMs: Math.min(COPY_MS, Math.max(left, 5_000)),
          fetch: deps.fetch,
          allowInsecureUrls: insecure,
          resolve: deps.resolve,
        });
        return { ok: true, value: copy.publicUrl };
      } catch (error) {
        if (error instanceof TargetNotAllowedError) return { ok: false, problem: "host not allowed" };
        return { ok: false, problem: messageOf(error).slice(0, 200) };
      }
    },
  );
  if (chosen) return { found: { ...chosen.candidate, storedUrl: chosen.value } };
  return {
    found: null,
    reason: `no candidate passed the checks (${refused.length}): ${refused.join("; ")}`.slice(0, 500),
  };
}
