/**
 * An accepted clip: the caches learn of it, the scene takes it (its mix is redone), and
 * asset.apply extracts its end frame, remixes the scene and reassembles the film. The scenes
 * continuing from its last frame are marked stale, and with cascade regenerated from the new one.
 */
import type { TransactionSql } from "../../db/client.ts";
import { markVideoRegenerated, storeCachedVideo, videoCacheKey } from "../../caches/asset-cache.ts";
import { markContinuationsStale, markLaterShotsStale } from "../asset-continuity.ts";
import { isShotSlot } from "../asset-target.ts";
import { type AcceptContext, type AssetAcceptor, enqueueApply, slotOwnerId } from "./asset-acceptor.ts";

export const acceptVideo: AssetAcceptor = {
  kind: "video",
  needsIdleMovie: true,
  async accept(ctx) {
    if (isShotSlot(ctx.run.slot)) return await acceptShot(ctx);
    const sceneId = slotOwnerId(ctx.run.slot);
    const [old] = await ctx.tx`select clip_url from public.movie_scenes where id = ${sceneId}`;
    await updateVideoCache(ctx.tx, ctx.userId, old?.clip_url ?? null, ctx.asset);
    await ctx
      .tx`update public.movie_scenes set clip_url = ${ctx.asset.public_url}, video_url = ${ctx.asset.public_url}, status = 'completed',
                        error_message = null, mix_status = 'pending' where id = ${sceneId}`;
    // A scene of one shot: its shot is its clip, made from the frame the take was made from.
    await ctx.tx`
      update public.scene_shots set clip_url = ${ctx.asset.public_url}, status = 'completed', error_message = null,
             end_frame_url = null, stale = false, reference_image_url = coalesce(${
      madeFrom(ctx)
    }::text, reference_image_url)
       where scene_id = ${sceneId}`;
    // The scenes made from this scene's old last frame are stale; with cascade the ones continuing
    // directly are regenerated from the new one (asset.apply, after it is extracted), and so on.
    const marks = await markContinuationsStale(ctx.tx, ctx.run.movie_id, ctx.run.target.sceneNumber!);
    const applied = await enqueueApply(
      ctx,
      true,
      ctx.cascade ? marks.direct.map((sceneNumber) => ({ sceneNumber })) : [],
    );
    return { ...applied, staleScenes: marks.stale };
  },
};

/**
 * An accepted shot of a scene cut into shots: the shot takes the clip; the later shots of its
 * scene (made from its old last frame) and the scenes continuing from the scene are stale. asset.apply
 * extracts its last frame, joins the scene's shots into its clip again, remixes and reassembles;
 * with cascade the next shot is regenerated from the new frame, and after the last shot the
 * continuing scenes.
 */
async function acceptShot(ctx: AcceptContext) {
  const shotId = slotOwnerId(ctx.run.slot);
  const [old] = await ctx.tx`
    select h.clip_url, p.id as previous_id, p.end_frame_url as previous_end_frame from public.scene_shots h
      left join public.scene_shots p on p.scene_id = h.scene_id and p.shot_number = h.shot_number - 1
     where h.id = ${shotId}`;
  await updateVideoCache(ctx.tx, ctx.userId, old?.clip_url ?? null, ctx.asset);
  // A later shot's take continues its previous shot only if made from that shot's last frame as it
  // is now: one made before the previous shot got a new clip stays stale (a cascade or a new take
  // from the new frame clears it).
  const stale = old?.previous_id != null &&
    (ctx.asset.params.referenceImageUrl ?? null) !== old.previous_end_frame;
  await ctx.tx`
    update public.scene_shots set clip_url = ${ctx.asset.public_url}, status = 'completed', error_message = null,
           end_frame_url = null, stale = ${stale}, reference_image_url = coalesce(${
    madeFrom(ctx)
  }::text, reference_image_url)
     where id = ${shotId}`;
  const { sceneNumber, shotNumber } = ctx.run.target;
  const later = await markLaterShotsStale(ctx.tx, shotId);
  const marks = await markContinuationsStale(ctx.tx, ctx.run.movie_id, sceneNumber!);
  const next = later.length > 0
    ? [{ sceneNumber: sceneNumber!, shotNumber: shotNumber! + 1 }]
    : marks.direct.map((n) => ({ sceneNumber: n }));
  const applied = await enqueueApply(ctx, true, ctx.cascade ? next : []);
  return {
    ...applied,
    staleScenes: marks.stale,
    // The accepted shot itself first when it stays stale.
    staleShots: [...(stale ? [shotNumber!] : []), ...later].map((n) => ({
      sceneNumber: sceneNumber!,
      shotNumber: n,
    })),
  };
}

/**
 * The caches on an accepted clip: the replaced clip's generated_videos entry is marked
 * failed / "Regenerated" (the next lookup misses) and the new clip becomes the entry for its inputs.
 */
async function updateVideoCache(
  tx: TransactionSql,
  userId: string,
  oldClipUrl: string | null,
  asset: AcceptContext["asset"],
) {
  if (oldClipUrl) {
    await tx`update public.generated_videos set status = 'failed', error_message = 'Regenerated'
              where user_id = ${userId} and video_url = ${oldClipUrl} and status = 'completed'`;
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

/**
 * The frame a take was made from (its params), else the shot's as it is: what a resumed film's
 * chain compares with the frame the shot starts from now (scene-video.ts). Left as the chain had
 * written it, a take accepted while the film was cancelled (a cascade's, made from a new frame)
 * looked made from another frame, and the resumed film paid for the shot again and replaced it.
 */
const madeFrom = (ctx: AcceptContext): string | null =>
  (ctx.asset.params.referenceImageUrl as string | undefined) ?? null;
