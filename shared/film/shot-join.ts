/**
 * A scene's clip from its shots: one render job puts them end to end with plain cuts and adds no
 * sound (the scene's mix adds its lines). Same-sized H.264 shots are stream-copied by the render
 * worker (shared/render/assembly-path.ts), so a join costs little. Used by the pipeline
 * (scene-video.ts) and by regenerate-asset after an accepted shot.
 */
import type { TaskContext } from "../engine/task-context.ts";
import { type FilmEnv, filmPath } from "./film-env.ts";
import { runJob } from "./film-jobs.ts";
import type { MovieRow } from "./film-movie.ts";
import type { MetricKey } from "./film-metrics.ts";
import { FILM_FPS } from "./film-timeline.ts";
import { SceneFailure } from "./scene-failure.ts";
import { ratioSize } from "./video-prompt.ts";

/** The joined clip's URL; a SceneFailure when the render fails. `s` names the scene (`scene-N`). */
export async function joinShots(
  ctx: TaskContext,
  env: FilmEnv,
  movie: MovieRow,
  s: string,
  clips: { url: string; seconds: number }[],
  ratio: string,
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
        ...ratioSize(ratio),
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
