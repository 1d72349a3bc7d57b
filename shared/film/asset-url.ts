/**
 * The URLs of asset versions handed to clients. The `media` bucket is private, so a version's
 * stored address (public_url) does not serve; clients get it signed, for the configured TTL.
 *
 * No version query (`?v=<version>-<hash>`, as before the bucket went private): a signed URL is
 * new every time it is issued (its token carries the signing time) and a version has a path of
 * its own, so no cache can answer a new version with an old entry; and a query on a signed URL
 * is one more thing for Storage to read. No preview token either: previews are only ever handed
 * to their owner (the run is owner-checked) and, like every version, only through a signed URL.
 */
import type { Config } from "../config.ts";
import type { Sql } from "../db/client.ts";
import { createStorage } from "../storage/index.ts";
import { ownerObjects } from "../storage/owner-objects.ts";
import { signUrls } from "../storage/signed-urls.ts";

export interface AssetUrlSource {
  public_url: string | null;
}

/**
 * Signs the given versions' addresses in one request, for their owner's folders only:
 * `url(asset)` then answers with the signed URL.
 */
export async function assetUrlSigner(
  config: Config,
  sql: Sql,
  ownerId: string,
  assets: (AssetUrlSource | null | undefined)[],
) {
  const signed = await signUrls(
    createStorage(config, sql),
    assets.map((asset) => asset?.public_url),
    config.REELFORGE_SIGNED_URL_TTL_SECONDS,
    ownerObjects(ownerId, config.REELFORGE_MEDIA_BUCKET),
  );
  return (asset: AssetUrlSource): string | null =>
    asset.public_url === null ? null : signed.get(asset.public_url) ?? asset.public_url;
}

/** The stored address of every current asset of a film, by slot (`movie:<id>:video`, `scene:<id>:video`, ...); callers sign them. */
export async function currentAssetUrls(sql: Sql, movieId: string): Promise<Map<string, string | null>> {
  const rows =
    await sql`select slot, public_url from public.assets where movie_id = ${movieId} and state = 'current'`;
  return new Map(rows.map((r) => [r.slot as string, r.public_url as string | null]));
}
