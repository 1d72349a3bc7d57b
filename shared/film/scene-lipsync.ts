/**
 * Lip sync of one scene inside film.mix, when the owner configured a lipsync provider: the
 * scene's lines rendered alone as one track of the clip's exact length (render worker), the clip
 * and that track to the lipsync provider, its output copied into Storage. Each paid call is a
 * recorded providerStep with its intent row (runJob); a refusal or failed job is an outcome, so
 * the caller can fall back to the plain mix.
 */
import type { TaskContext } from "../engine/task-context.ts";
import { ProviderInputError } from "../providers/provider-errors.ts";
import type { RenderRequest, TimelineAudio } from "../providers/types.ts";
import { type FilmEnv, filmPath } from "./film-env.ts";
import { runJob } from "./film-jobs.ts";
import type { MetricKey } from "./film-metrics.ts";
import { FILM_FPS } from "./film-timeline.ts";
import { isSceneFailure } from "./scene-failure.ts";
import { storeOutput } from "./store-output.ts";

export interface LipsyncInput {
  movieId: string;
  sceneNumber: number;
  clipUrl: string;
  frames: number;
  dialogue: TimelineAudio[];
  metric: Omit<MetricKey, "taskId" | "stepName" | "provider" | "model">;
}

export type LipsyncOutcome = { ok: true; url: string } | { ok: false; message: string };

export async function lipSyncScene(
  ctx: TaskContext,
  env: FilmEnv,
  input: LipsyncInput,
): Promise<LipsyncOutcome> {
  const lipsync = env.providers.lipsync;
  if (!lipsync) return { ok: false, message: "no lipsync provider" };
  const s = `scene-${input.sceneNumber}`;
  const tag = ctx.task.id.slice(0, 8);
  const trackRequest: RenderRequest = {
    op: "dialogue_track",
    fps: FILM_FPS,
    durationFrames: input.frames,
    dialogue: input.dialogue,
    output: { bucket: env.bucket, path: filmPath(env, input.movieId, `${s}-dialogue-${tag}.m4a`) },
  };
  try {
    // A render provider without this op (fal) is a configuration fact, not a failed scene.
    env.providers.render.validate(trackRequest);
  } catch (error) {
    if (error instanceof ProviderInputError) {
      return { ok: false, message: `dialogue track: ${error.message}` };
    }
    throw error;
  }
  try {
    const track = await runJob(ctx, {
      sql: env.sql,
      name: "lipsync:dialogue-track",
      provider: env.providers.render,
      request: trackRequest,
      metric: input.metric,
      cost: { units: 1, unit: "renders" },
      pollEveryMs: env.pollMs,
    });
    if (!track.ok) return { ok: false, message: `dialogue track: ${track.message}` };
    const synced = await runJob(ctx, {
      sql: env.sql,
      name: "lipsync:sync",
      provider: lipsync,
      request: { videoUrl: input.clipUrl, audioUrl: track.url },
      metric: input.metric,
      cost: { units: input.frames / FILM_FPS, unit: "seconds" },
      pollEveryMs: env.pollMs,
    });
    if (!synced.ok) {
      return { ok: false, message: `lip sync failed: ${synced.failureCode}: ${synced.message}` };
    }
    const url = await storeOutput(
      ctx,
      env,
      "lipsync:copy",
      synced.url,
      "video",
      filmPath(env, input.movieId, `${s}-lipsync-${tag}.mp4`),
    );
    return { ok: true, url };
  } catch (error) {
    // Refusals and bad outputs belong to this scene; anything else is the task's to retry.
    if (!isSceneFailure(error)) throw error;
    return { ok: false, message: `lip sync failed: ${(error as Error).message}` };
  }
}
