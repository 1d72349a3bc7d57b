/**
 * Identical regenerate inputs cost nothing. Before a preview calls its provider, its inputs hash
 * is looked up: for a clip generated_videos, for a line audio_cache (the pipeline's outputs and
 * accepted versions), then, for every kind, any not-deleted version of the owner's with the same
 * assets.inputs_hash (previews, a rejected one until its retention passes, accepted ones). The
 * first whose object still exists is copied to the run's own preview path — a Storage download
 * and upload, no provider call — and the preview records where it came from (params.cachedFrom).
 */
import type { TransactionSql } from "../db/client.ts";
import type { TaskContext } from "../engine/task-context.ts";
import {
  cachedAudioObjects,
  type CachedObject,
  cachedVideoObjects,
  countCacheHit,
} from "../caches/asset-cache.ts";
import type { FilmEnv } from "../film/film-env.ts";
import { sha256Hex } from "../crypto/content-hash.ts";
import { type AssetRunRow, previewPath } from "./asset-preview-file.ts";

export interface CachedCopy {
  bucket: string;
  path: string;
  url: string;
  contentHash: string;
  cachedFrom: { source: CachedObject["source"]; id: string };
  meta: CachedObject["meta"];
}

/** The owner's not-deleted versions of this kind made from the same inputs, newest first. */
async function assetsWithInputs(
  tx: TransactionSql,
  userId: string,
  kind: string,
  hash: string,
): Promise<CachedObject[]> {
  const rows = await tx`
    select id, storage_bucket, storage_path, params from public.assets
     where user_id = ${userId} and kind = ${kind} and inputs_hash = ${hash} and deleted_at is null and storage_path is not null
     order by created_at desc`;
  return rows.map((r) => ({
    source: "assets",
    id: r.id,
    bucket: r.storage_bucket,
    path: r.storage_path,
    meta: {
      requestId: r.params.requestId ?? null,
      alignment: r.params.alignment ?? null,
      durationSeconds: r.params.durationSeconds ?? null,
    },
  }));
}

/** A recorded step, so a resumed slice keeps the decision (and the copy) it made. */
export async function cachedPreview(
  ctx: TaskContext,
  env: FilmEnv,
  run: AssetRunRow,
  hash: string,
  file: { ext: string; contentType: string },
): Promise<CachedCopy | null> {
  return await ctx.step("preview:cache", async (tx) => {
    const candidates = [
      ...(run.kind === "video" ? await cachedVideoObjects(tx, run.user_id, hash) : []),
      ...(run.kind === "audio" ? await cachedAudioObjects(tx, run.user_id, hash) : []),
      ...await assetsWithInputs(tx, run.user_id, run.kind, hash),
    ];
    for (const candidate of candidates) {
      const bytes = await env.storage.download(candidate.bucket, candidate.path);
      if (!bytes) continue; // removed by cleanup meanwhile: not a hit
      const path = previewPath(run, file.ext);
      await env.storage.upload(env.bucket, path, bytes, { contentType: file.contentType, upsert: true });
      await countCacheHit(tx, candidate);
      return {
        bucket: env.bucket,
        path,
        url: env.storage.publicUrl(env.bucket, path),
        contentHash: await sha256Hex(bytes),
        cachedFrom: { source: candidate.source, id: candidate.id },
        meta: candidate.meta,
      };
    }
    return null;
  });
}
