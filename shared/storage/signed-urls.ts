/**
 * Turns stored media URLs into URLs that serve. The database keeps each object's address (the
 * public-URL shape, `.../storage/v1/object/public/<bucket>/<path>`), which no longer serves for a
 * private bucket; whoever must fetch the object (an owner, a provider) gets a signed URL made
 * here, fresh, with an expiry. URLs elsewhere (a provider's CDN, an imported link) pass through.
 */
import type { ObjectStorage } from "./storage.ts";

/** How long an owner's URLs serve unless REELFORGE_SIGNED_URL_TTL_SECONDS says otherwise: 1 h. */
export const DEFAULT_SIGNED_URL_TTL_SECONDS = 3600;

export interface StorageObjectRef {
  bucket: string;
  path: string;
}

/**
 * The bucket and path an address of ours names (any query or fragment dropped), or null for a URL
 * elsewhere. Ours = under this Storage's public root, as storage.publicUrl writes it.
 */
export function objectOfUrl(storage: ObjectStorage, url: string): StorageObjectRef | null {
  const probe = storage.publicUrl("b", "x");
  const root = probe.slice(0, -"b/x".length);
  if (!url.startsWith(root)) return null;
  const [bucket, ...segments] = url.slice(root.length).split(/[?#]/)[0].split("/");
  if (!bucket || segments.length === 0) return null;
  try {
    return { bucket: decodeURIComponent(bucket), path: segments.map(decodeURIComponent).join("/") };
  } catch {
    return null; // malformed escapes: not an address we wrote
  }
}

/** Which of our objects a signing may reach (owner-objects.ts `ownerObjects`): the rest keep their address. */
export type MaySign = (ref: StorageObjectRef) => boolean;

/**
 * Each distinct URL of `urls` → the URL to hand out: our objects that `may` allows signed for
 * `expiresInSeconds` (one Storage request per bucket), anything else unchanged. An object that
 * no longer exists, or that `may` refuses, keeps its address, which does not serve either.
 */
export async function signUrls(
  storage: ObjectStorage,
  urls: Iterable<string | null | undefined>,
  expiresInSeconds: number,
  may: MaySign,
): Promise<Map<string, string>> {
  const signed = new Map<string, string>();
  const byBucket = new Map<string, Map<string, string[]>>();
  for (const url of urls) {
    if (!url || signed.has(url)) continue;
    signed.set(url, url);
    const ref = objectOfUrl(storage, url);
    if (!ref || !may(ref)) continue;
    const paths = byBucket.get(ref.bucket) ?? byBucket.set(ref.bucket, new Map()).get(ref.bucket)!;
    paths.set(ref.path, [...(paths.get(ref.path) ?? []), url]);
  }
  await Promise.all([...byBucket].map(async ([bucket, paths]) => {
    const keys = [...paths.keys()];
    const results = await storage.signedUrls(bucket, keys, expiresInSeconds);
    keys.forEach((path, i) => {
      const result = results[i];
      if (result) { for (const url of paths.get(path)!) signed.set(url, result); }
    });
  }));
  return signed;
}

/** `value` with every string in it that is an address of ours `may` allows replaced by a signed URL (a copy; `value` is untouched). */
export async function signUrlsIn<T>(
  storage: ObjectStorage,
  value: T,
  expiresInSeconds: number,
  may: MaySign,
): Promise<T> {
  const found: string[] = [];
  const collect = (node: unknown): void => {
    if (typeof node === "string") found.push(node);
    else if (Array.isArray(node)) node.forEach(collect);
    else if (node && typeof node === "object") Object.values(node).forEach(collect);
  };
  collect(value);
  const ours = found.filter((text) => objectOfUrl(storage, text) !== null);
  if (ours.length === 0) return value;
  const signed = await signUrls(storage, ours, expiresInSeconds, may);
  const replace = (node: unknown): unknown => {
    if (typeof node === "string") return signed.get(node) ?? node;
    if (Array.isArray(node)) return node.map(replace);
    if (node && typeof node === "object" && Object.getPrototypeOf(node) === Object.prototype) {
      return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, replace(item)]));
    }
    return node;
  };
  return replace(value) as T;
}

/** When URLs signed now for `expiresInSeconds` stop serving (ISO time), for clients to refresh before. */
export const urlsExpireAt = (expiresInSeconds: number, now = Date.now()) =>
  new Date(now + expiresInSeconds * 1000).toISOString();
