/**
 * The one builder of asset URLs handed to clients (seed 001's buildAssetUrl). A committed version
 * carries `v=<version>-<hash prefix>`, so no cache can answer a new version with an old entry; a
 * preview carries its run's token instead (only the owner's run knows it) until it is accepted.
 */
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
