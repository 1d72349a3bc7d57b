/**
 * A preview version's file and row: the file at a path of its own
 * (`assets/<user>/<movie>/<slot>/<run>.<ext>`, so old and new versions coexist until cleanup),
 * hashed, and recorded as a `preview` row of the slot under the slot's lock.
 */
import type { JsonObject, TransactionSql } from "../db/client.ts";
import type { TaskContext } from "../engine/task-context.ts";
import { sha256Hex } from "../crypto/content-hash.ts";
import { type FilmEnv, filmObject } from "../film/film-env.ts";
import { copyToStorage } from "../providers/copy-to-storage.ts";
import type { MediaKind } from "../providers/http/media-url.ts";
import type { AssetDraft, AssetTarget } from "./asset-target.ts";
import { isLibrarySlot, lockSlot } from "./asset-target.ts";

export interface AssetRunRow {
  id: string;
  user_id: string;
  movie_id: string;
  slot: string;
  kind: string;
  target: AssetTarget;
  draft: AssetDraft;
  status: string;
  base_version: number | null;
  preview_asset_id: string | null;
  task_id: string | null;
  /** asset.apply, once the run is accepted (clip, line, music). */
  apply_task_id: string | null;
  /** Why the run failed. */
  error: string | null;
  /** A cascade run: the accepted run whose new end frame it continues from (asset-cascade.ts). */
  cascade_of?: string | null;
}

/** A version of a slot (public.assets), as the regenerate actions read it. */
export interface AssetRow {
  id: string;
  slot: string;
  kind: string;
  version: number;
  state: string;
  storage_bucket: string | null;
  storage_path: string | null;
  public_url: string | null;
  content_hash: string | null;
  provider: string | null;
  model: string | null;
  params: JsonObject;
}

export interface PreviewFile {
  bucket: string;
  path: string;
  url: string;
  contentHash: string;
  provider: string;
  model: string;
  params: JsonObject;
  /** What it was made from (asset-preview-cache.ts): the next run with the same inputs copies this file. */
  inputsHash: string;
}

/** A refusal or failed job: the run fails with this message (retrying would not help). */
export class PreviewFailure extends Error {}

export const previewPath = (run: AssetRunRow, ext: string) =>
  `assets/${run.user_id}/${run.movie_id}/${run.slot.replaceAll(":", "-")}/${run.id}.${ext}`;

/**
 * The job's output at the run's own path, whether the provider left it in our bucket (the run
 * owner's objects only: an answer naming another tenant's fails the run) or elsewhere.
 */
export async function storeVersioned(
  ctx: TaskContext,
  env: FilmEnv,
  run: AssetRunRow,
  url: string,
  media: MediaKind,
  ext: string,
  contentType: string,
) {
  return await ctx.effect("preview:copy", async () => {
    const path = previewPath(run, ext);
    const ours = filmObject(env, url);
    if (ours === "not_yours") {
      throw new PreviewFailure("the provider's output names a file in our Storage that is not the owner's");
    }
    let bytes: Uint8Array | null;
    if (ours !== null) {
      bytes = await env.storage.download(ours.bucket, ours.path);
      if (!bytes) throw new PreviewFailure(`the provider's output ${url} is missing from Storage`);
      await env.storage.upload(env.bucket, path, bytes, { contentType, upsert: true });
    } else {
      await copyToStorage({
        provider: "copy",
        url,
        kind: media,
        storage: env.storage,
        bucket: env.bucket,
        path,
        allowInsecureUrls: env.allowInsecureUrls,
      });
      bytes = await env.storage.download(env.bucket, path);
    }
    return {
      bucket: env.bucket,
      path,
      url: env.storage.publicUrl(env.bucket, path),
      contentHash: await sha256Hex(bytes!),
    };
  });
}

/**
 * The next version of the slot, under its lock, as a preview of the run (unless the run was
 * decided meanwhile). A library image's version belongs to no film (movie_id null, like the
 * versions its trigger records), so deleting the film never deletes the row naming its file.
 * TODO: a script regeneration fails the film's open runs but supersedes only versions with its
 * movie_id, so an undecided library preview of that film stays `preview` (and its file kept).
 */
export async function savePreview(
  tx: TransactionSql,
  run: AssetRunRow,
  file: PreviewFile,
): Promise<string | null> {
  await lockSlot(tx, run.slot);
  const [live] = await tx`select status from public.asset_runs where id = ${run.id} for update`;
  if (live?.status !== "running") return null;
  const movieId = isLibrarySlot(run.slot) ? null : run.movie_id;
  const [asset] = await tx`
    insert into public.assets (user_id, movie_id, slot, kind, version, state, storage_bucket, storage_path, public_url, content_hash, provider, model, params, inputs_hash)
    values (${run.user_id}, ${movieId}, ${run.slot}, ${run.kind}, coalesce((select max(version) from public.assets where slot = ${run.slot}), 0) + 1,
            'preview', ${file.bucket}, ${file.path}, ${file.url}, ${file.contentHash}, ${file.provider}, ${file.model}, ${
    tx.json(file.params)
  }, ${file.inputsHash})
    returning id`;
  await tx`update public.asset_runs set status = 'preview', preview_asset_id = ${asset.id}, error = null where id = ${run.id}`;
  return asset.id;
}
