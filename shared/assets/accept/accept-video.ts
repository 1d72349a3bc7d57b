/**
 * An accepted clip: the caches learn of it, the scene takes it (its mix is redone), and
 * asset.apply extracts its end frame, remixes the scene and reassembles the film. The scenes
 * continuing from its last frame are marked stale, and with cascade regenerated from the new one.
 */
import type { TransactionSql } from "../../db/client.ts";
import { markVideoRegenerated, storeCachedVideo, videoCacheKey } from "../../caches/asset-cache.ts";
import { markContinuationsStale } from "../asset-continuity.ts";
import { type AcceptContext, type AssetAcceptor, enqueueApply, slotOwnerId } from "./asset-acceptor.ts";

export const acceptVideo: AssetAcceptor = {
  kind: "video",
  needsIdleMovie: true,
  async accept(ctx) {
    const sceneId = slotOwnerId(ctx.run.slot);
    await updateVideoCache(ctx.tx, ctx.userId, sceneId, ctx.asset);
    await ctx
      .tx`update public.movie_scenes set clip_url = ${ctx.asset.public_url}, video_url = ${ctx.asset.public_url}, status = 'completed',
                        error_message = null, mix_status = 'pending' where id = ${sceneId}`;
    // The scenes made from this scene's old last frame are stale; with cascade the ones continuing
    // directly are regenerated from the new one (asset.apply, after it is extracted), and so on.
    const marks = await markContinuationsStale(ctx.tx, ctx.run.movie_id, ctx.run.target.sceneNumber!);
    const applied = await enqueueApply(ctx, true, ctx.cascade ? marks.direct : []);
    return { ...applied, staleScenes: marks.stale };
  },
};

/**
 * The caches on an accepted clip: the replaced clip's generated_videos entry is marked
 * failed / "Regenerated" (the next lookup misses) and the new clip becomes the entry for its inputs.
 */
async function updateVideoCache(
  tx: TransactionSql,
  userId: string,
  sceneId: string,
  asset: AcceptContext["asset"],
) {
  const [scene] = await tx`select clip_url from public.movie_scenes where id = ${sceneId}`;
  if (scene?.clip_url) {
    await tx`update public.generated_videos set status = 'failed', error_message = 'Regenerated'
              where user_id = ${userId} and video_url = ${scene.clip_url} and status = 'completed'`;
  }
  const p = asset.params;
  const inputs = {
    prompt: p.prompt,
    referenceImageUrl: p.referenceImageUrl ?? null,
    provider: asset.provider,
    model: asset.model,
    ratio: p.ratio,
    durationSeconds: Number(p.durationSeconds),
    seed: p.seed,
    take: p.take,
  };
  await markVideoRegenerated(tx, userId, await videoCacheKey(inputs));
  await storeCachedVideo(tx, userId, await videoCacheKey(inputs), inputs, {
    videoUrl: asset.public_url,
    bucket: asset.storage_bucket,
    path: asset.storage_path,
  });
}
