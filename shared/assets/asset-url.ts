/**
 * The one builder of asset URLs handed to clients (seed 001's buildAssetUrl). A committed version
 * carries `v=<version>-<hash prefix>`, so no cache can answer a new version with an old entry; a
 * preview carries its run's token instead (only the owner's run knows it) until it is accepted.
 */
import type { Sql } from "../db/client.ts";

export interface AssetUrlSource {
  public_url: string | null;
  version: number;
  content_hash: string | null;
  state?: string;
}

export function buildAssetUrl(asset: AssetUrlSource, options: { previewToken?: string } = {}): string | null {
  if (!asset.public_url) return null;
  const join = asset.public_url.includes("?") ? "&" : "?";
  if (options.previewToken !== undefined) return `${asset.public_url}${join}preview=${encodeURIComponent(options.previewToken)}`;
  const hash = asset.content_hash ? `-${asset.content_hash.slice(0, 12)}` : "";
  return `${asset.public_url}${join}v=${asset.version}${hash}`;
}

/** The cache-busted URL of every current asset of a film, by slot (`movie:<id>:video`, `scene:<id>:video`, ...). */
export async function currentAssetUrls(sql: Sql, movieId: string) {
  const rows = await sql`select slot, public_url, version, content_hash from public.assets where movie_id = ${movieId} and state = 'current'`;
  return new Map(rows.map((r) => [r.slot as string, buildAssetUrl(r as unknown as AssetUrlSource)]));
}
