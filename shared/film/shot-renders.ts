/**
 * The render worker's two jobs on shots, for the pipeline (scene-video.ts), lip sync by shots and
 * regenerate-asset after an accepted clip or shot: a clip's real last frame (what the next shot or
 * a continuing scene starts from), and a scene's clip from its shots — end to end, plain cuts, no
 * sound added (the scene's mix adds its lines); same-sized H.264 shots are stream-copied
 * (shared/render/assembly-path.ts), so a join costs little.
 */
import type { TaskContext } from "../engine/task-context.ts";
import { type FilmEnv, filmPath } from "./film-env.ts";
import { runJob } from "./film-jobs.ts";
import type { MovieRow } from "./film-movie.ts";
import type { JobOutcome } from "./film-jobs.ts";
import type { MetricKey } from "./film-metrics.ts";
import { FILM_FPS } from "./film-timeline.ts";
import { SceneFailure } from "./scene-failure.ts";
import { filmRatio, ratioSize } from "./video-prompt.ts";

/** The joined clip's URL; a SceneFailure when the render fails. `s` names the scene (`scene-N`). */
export async function joinShots(
  ctx: TaskContext,
  env: FilmEnv,
  movie: MovieRow,
  s: string,
  clips: { url: string; seconds: number }[],
  metric: Omit<MetricKey, "taskId" | "stepName" | "provider" | "model">,
): Promise<string> {
  const joined = await runJob(ctx, {
    sql: env.sql,
    name: `${s}:join-shots`,
    provider: env.providers.render,
    request: {
      op: "assemble" as const,
      timeline: {
        fps: FILM_FPS,
        ...ratioSize(filmRatio(env.providers.video, movie.orientation)),
        clips: clips.map((c) => ({
          url: c.url,
          inFrame: 0,
          outFrame: Math.max(1, Math.round(c.seconds * FILM_FPS)),
        })),
        dialogue: [],
      },
      output: {
        bucket: env.bucket,
        path: filmPath(env, movie.id, `${s}-${ctx.task.id.slice(0, 8)}-shots.mp4`),
      },
    },
    metric,
    cost: { units: clips.length, unit: "clips" },
    pollEveryMs: env.pollMs,
  });
  if (!joined.ok) throw new SceneFailure(`joining ${clips.length} shots failed: ${joined.message}`);
  return joined.url;
}

/**
 * The clip's real last frame as a PNG in Storage, a recorded render job named `name`; `file` names
 * the PNG (the task's id is added, so a retried take never overwrites a frame in use).
 */
export async function extractLastFrame(
  ctx: TaskContext,
  env: FilmEnv,
  movieId: string,
  job: {
    name: string;
    clipUrl: string;
    file: string;
    metric: Omit<MetricKey, "taskId" | "stepName" | "provider" | "model">;
  },
): Promise<JobOutcome> {
  return await runJob(ctx, {
    sql: env.sql,
    name: job.name,
    provider: env.providers.render,
    request: {
      op: "extract_last_frame" as const,
      clipUrl: job.clipUrl,
      output: {
        bucket: env.bucket,
        path: filmPath(env, movieId, `${job.file}-${ctx.task.id.slice(0, 8)}-end.png`),
      },
    },
    metric: job.metric,
    cost: { units: 1, unit: "renders" },
    pollEveryMs: env.pollMs,
  });
}
