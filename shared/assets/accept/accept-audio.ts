/**
 * An accepted dialogue line: the audio cache gets it for its inputs, the line row takes its text,
 * voice and timing, and asset.apply remixes the scene and reassembles the film.
 */
import { audioCacheKey, storeCachedAudio } from "../../caches/asset-cache.ts";
import { type AssetAcceptor, enqueueApply, slotOwnerId } from "./asset-acceptor.ts";

export const acceptAudio: AssetAcceptor = {
  kind: "audio",
  needsIdleMovie: true,
  async accept(ctx) {
    const { tx, asset } = ctx;
    const p = asset.params;
    const inputs = {
      text: p.text,
      voiceId: p.voiceId,
      provider: asset.provider,
      model: asset.model,
      settings: p.settings ?? {},
    };
    await storeCachedAudio(tx, ctx.userId, await audioCacheKey(inputs), inputs, {
      audioUrl: asset.public_url,
      bucket: asset.storage_bucket,
      path: asset.storage_path,
      contentType: "audio/mpeg",
      durationSeconds: p.durationSeconds ?? null,
      alignment: p.alignment ?? null,
      requestId: p.requestId ?? null,
    });
    await tx`update public.scene_audio set audio_url = ${asset.public_url}, text = ${p.text}, voice_id = ${p.voiceId}, request_id = ${
      p.requestId ?? null
    },
                    alignment = ${p.alignment ? tx.json(p.alignment) : null}, duration_seconds = ${
      p.durationSeconds ?? null
    }, status = 'completed', error_message = null
              where id = ${slotOwnerId(ctx.run.slot)}`;
    return await enqueueApply(ctx, false);
  },
};
