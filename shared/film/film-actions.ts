/**
 * produce-movie's actions: quote (what start's body would cost, nothing written: film-quote.ts),
 * start (a movie row, its progress row and its film.produce task in one transaction → 202
 * { movieId, taskId }; `maxCostUnits` caps its paid jobs: film-budget.ts), status (per step, per
 * scene, cost and time so far, spend against the cap, signed media URLs with their expiry, and
 * `waiting` when no render worker is picking up its rendering), resume (the engine's resume of an
 * unfinished film; a finished one redoes what failed, film-redo.ts), cancel, usage (the caller's
 * limits and use). start and resume are admitted against the caller's usage limits in the
 * transaction that creates the work (429 quota_exceeded). Only the owner may see or touch a
 * movie: 403 for another user's, 404 unknown.
 */
import { z } from "zod";
import { ConflictError, NotFoundError, TaskExpiredError } from "../errors.ts";
import { describeTask, taskActions } from "../http/task-actions.ts";
import { type ActionSpec, defineAction } from "../http/function-app.ts";
import { requiredAs, uuidField, visibleText } from "../http/read-body.ts";
import { currentAssetUrls } from "./asset-url.ts";
import { createStorage } from "../storage/index.ts";
import { ownerObjects } from "../storage/owner-objects.ts";
import { signUrls, urlsExpireAt } from "../storage/signed-urls.ts";
import type { FilmDeps } from "./film-env.ts";
import { metricsByStep } from "./film-metrics.ts";
import { spendOf } from "./film-budget.ts";
import { resolveProviders } from "../providers/registry/resolve-providers.ts";
import { assertMakeableLength, quoteFilm } from "./film-quote.ts";
import { assertOrientationFits, filmOrientation } from "./film-orientation.ts";
import { ownMovie } from "./film-movie.ts";
import { initialSteps } from "./film-progress.ts";
import { redoFailedFilm } from "./film-redo.ts";
import { PRODUCE_KIND } from "./produce-task.ts";
import { renderWaitOf } from "./render-wait.ts";
import { admitUsage, usageReport } from "../usage/usage-admission.ts";

export const byMovieId = z.object({ movieId: uuidField("movieId", "a movie's UUID") }).strict();

/** status / resume / cancel take the movie, or (like every function) one of its tasks. */
const byMovieOrTask = z.object({
  movieId: uuidField("movieId", "a movie's UUID").optional(),
  taskId: uuidField("taskId", "a task's UUID").optional(),
}).strict().refine((b) => (b.movieId === undefined) !== (b.taskId === undefined), {
  message: "send movieId (or a taskId), exactly one",
  path: ["movieId"],
});

/**
 * Bidirectional controls and marks reorder what a viewer sees (a title that reads differently than
 * it is): the embeddings, overrides and isolates, and the marks LRM, RLM and ALM.
 */
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/;
/** A short text shown wherever the film is listed: one visible line, nothing that reorders it. */
const shownText = (field: string, max: number) =>
  visibleText(field, max)
    .refine(
      (text) => !BIDI_CONTROLS.test(text),
      `${field} must not contain bidirectional control characters`,
    )
    .refine((text) => !/[\t\n\r\u2028\u2029]/.test(text), `${field} must be one line`);

const startInput = z.object({
  title: shownText("title", 200),
  prompt: visibleText("prompt", 4000),
  genre: shownText("genre", 60),
  // movies.duration_minutes keeps hundredths: anything smaller than 0.01 would be stored as 0, and
  // anything finer rounded, so start would make another film than quote planned from the same body.
  durationMinutes: z.number({ error: requiredAs("durationMinutes", "a number") }).min(
    0.01,
    "durationMinutes must be at least 0.01",
  ).max(30, "durationMinutes must be at most 30").refine(
    (minutes) => Number(minutes.toFixed(2)) === minutes,
    "durationMinutes must be in hundredths of a minute (at most two decimals, e.g. 0.25)",
  ),
  // Unset: the registered ratio's orientation, else landscape (film-orientation.ts).
  orientation: z.enum(["landscape", "portrait"], { error: "orientation must be 'landscape' or 'portrait'" })
    .optional(),
  // The film's cap on its paid jobs, in the providers' own units summed (film-budget.ts).
  maxCostUnits: z.number({ error: "maxCostUnits must be a number" })
    .min(0.01, "maxCostUnits must be at least 0.01")
    .max(1e9, "maxCostUnits must be at most 1000000000")
    .optional(),
}).strict();

export function produceMovieActions(deps: FilmDeps): Record<string, ActionSpec> {
  const { sql, store } = deps;
  const taskOnly = taskActions(store, "produce-movie");
  const orTask = (name: "status" | "resume" | "cancel", byMovie: ActionSpec<typeof byMovieId>): ActionSpec =>
    defineAction({
      input: byMovieOrTask,
      async run(input, caller) {
        // A film's own produce task means the film: resuming it must bring the movie row back too.
        // Only the caller's: someone else's task answers as an unknown one (task-actions.ts).
        const [film] = input.taskId
          ? await sql`select id from public.movies where task_id = ${input.taskId} and user_id = ${caller.userId}`
          : [];
        if (input.taskId && !film) return await taskOnly[name].run({ taskId: input.taskId }, caller);
        return await byMovie.run({ movieId: film ? film.id as string : input.movieId! }, caller);
      },
    });
  const actions = {
    start: defineAction({
      spends: true,
      input: startInput,
      async run(input, caller) {
        const { video } = await resolveProviders(sql, caller.userId, deps.config);
        assertMakeableLength(input.durationMinutes, video);
        const orientation = filmOrientation(input.orientation, video);
        assertOrientationFits(orientation, video);
        const ids = await sql.begin(async (tx) => {
          await admitUsage(tx, caller.userId, "film", "start");
          const [movie] = await tx`
            insert into public.movies (user_id, title, prompt, genre, duration_minutes, orientation, max_cost_units, status)
            values (${caller.userId}, ${input.title}, ${input.prompt}, ${input.genre}, ${input.durationMinutes}, ${orientation},
                    ${input.maxCostUnits ?? null}, 'pending')
            returning id`;
          await tx`insert into public.movie_creation_progress (movie_id, user_id, steps) values (${movie.id}, ${caller.userId}, ${
            tx.json(initialSteps())
          })`;
          const task = await store.enqueue({
            userId: caller.userId,
            kind: PRODUCE_KIND,
            payload: { movieId: movie.id },
            maxAttempts: 5,
          }, tx);
          await tx`update public.movies set task_id = ${task.id} where id = ${movie.id}`;
          return { movieId: movie.id as string, taskId: task.id };
        });
        return { status: 202, body: ids };
      },
    }),
    // What the film of this brief would cost, from the planner's rules and the caller's providers:
    // nothing is written, no provider is called (film-quote.ts).
    quote: defineAction({
      input: startInput,
      async run(input, caller) {
        const providers = await resolveProviders(sql, caller.userId, deps.config);
        assertMakeableLength(input.durationMinutes, providers.video);
        assertOrientationFits(filmOrientation(input.orientation, providers.video), providers.video);
        return { body: quoteFilm(input, providers) };
      },
    }),
    status: defineAction({
      input: byMovieId,
      async run({ movieId }, caller) {
        const movie = await ownMovie(deps, movieId, caller.userId);
        const [progress] =
          await sql`select * from public.movie_creation_progress where movie_id = ${movieId}`;
        const scenes = await sql`
          select id, scene_number, status, audio_status, mix_status, is_continuation, continues_from, reference_image_source,
                 video_url, lipsync_url, end_frame_url, error_message, duration_seconds,
                 -- made from a last frame that has since been replaced (docs/regenerate-asset.md)
                 stale,
                 -- the scene's shots in order (docs/film-pipeline.md, "Shots")
                 coalesce((select json_agg(json_build_object(
                             'shotNumber', h.shot_number, 'durationSeconds', h.duration_seconds, 'status', h.status,
                             'stale', h.stale, 'referenceImageSource', h.reference_image_source, 'error', h.error_message)
                           order by h.shot_number)
                             from public.scene_shots h where h.scene_id = s.id), '[]') as shots
            from public.movie_scenes s where movie_id = ${movieId} order by scene_number`;
        // The current assets' URLs where the film has them; every media URL then signed (media is private).
        const urls = await currentAssetUrls(sql, movieId);
        for (const scene of scenes) {
          scene.video_url = urls.get(`scene:${scene.id}:video`) ?? scene.video_url;
          scene.end_frame_url = urls.get(`scene:${scene.id}:end_frame`) ?? scene.end_frame_url;
        }
        const videoUrl = urls.get(`movie:${movieId}:video`) ?? movie.video_url;
        const posterUrl = urls.get(`movie:${movieId}:cover`) ?? movie.poster_url;
        const thumbnailUrl = urls.get(`movie:${movieId}:cover`) ?? movie.thumbnail_url;
        const ttl = deps.config.REELFORGE_SIGNED_URL_TTL_SECONDS;
        const expiresAt = urlsExpireAt(ttl); // taken before signing, so never later than the tokens' own expiry
        const signed = await signUrls(
          createStorage(deps.config, sql),
          [
            videoUrl,
            posterUrl,
            thumbnailUrl,
            ...scenes.flatMap((scene) => [scene.video_url, scene.lipsync_url, scene.end_frame_url]),
          ],
          ttl,
          ownerObjects(caller.userId, deps.config.REELFORGE_MEDIA_BUCKET),
        );
        const sign = (url: string | null) => url === null ? null : signed.get(url) ?? url;
        for (const scene of scenes) {
          scene.video_url = sign(scene.video_url);
          scene.lipsync_url = sign(scene.lipsync_url);
          scene.end_frame_url = sign(scene.end_frame_url);
        }
        const metrics = await metricsByStep(sql, movieId);
        const task = movie.task_id ? await store.get(movie.task_id) : null;
        const waiting = task && !["succeeded", "failed", "cancelled"].includes(task.status)
          ? await renderWaitOf(sql, task.id)
          : null;
        const end = movie.completed_at ? new Date(movie.completed_at) : new Date();
        return {
          body: {
            movie: {
              id: movie.id,
              title: movie.title,
              status: movie.status,
              progress: movie.progress,
              videoUrl: sign(videoUrl),
              posterUrl: sign(posterUrl),
              thumbnailUrl: sign(thumbnailUrl),
              errorMessage: movie.error_message,
              warnings: movie.metadata?.warnings ?? [],
              failedScenes: movie.metadata?.failed_scenes ?? [],
            },
            progress: progress
              ? {
                overallStatus: progress.overall_status,
                overallProgress: progress.overall_progress,
                currentStep: progress.current_step,
                currentStepDetail: progress.current_step_detail,
                steps: progress.steps,
              }
              : null,
            scenes,
            // Media URLs above are signed: they stop serving at this time; ask status again for fresh ones.
            urlsExpireAt: expiresAt,
            metrics,
            // Units admitted for paid jobs so far against the film's cap (null: no cap).
            spend: await spendOf(sql, movieId),
            elapsedSeconds: (end.getTime() - new Date(movie.created_at).getTime()) / 1000,
            task: task ? describeTask(task) : null,
            // Set only while the film is held up by something outside it (today: no render worker).
            waiting,
          },
        };
      },
    }),
    resume: defineAction({
      input: byMovieId,
      async run({ movieId }, caller) {
        const movie = await ownMovie(deps, movieId, caller.userId);
        if (!movie.task_id) throw new ConflictError("task_missing", `Movie ${movieId} has no task to resume`);
        // A film whose task ended well has nothing for the engine to resume: only what failed is redone.
        const finished = await store.get(movie.task_id);
        // The film is the caller's (ownMovie): its task removed by retention cannot be resumed.
        if (!finished && await store.expired(movie.task_id)) {
          throw new TaskExpiredError("Task", movie.task_id);
        }
        if (finished?.status === "succeeded") {
          const { task, work } = await redoFailedFilm(deps, movieId, finished);
          return {
            status: 202,
            body: {
              resumed: true,
              movieId,
              redo: {
                scenes: work.clipChains.flat(),
                voices: work.voiceScenes,
                music: work.musicFailure !== null,
              },
              task: describeTask(task),
            },
          };
        }
        // Admitted against the limits and bounded, in one transaction with the movie and its
        // progress row back in production (engine.resume_by_owner): a cancel committing meanwhile
        // waits for it or comes after it, never between.
        const taskId = movie.task_id;
        const task = await store.resume(taskId);
        if (!task) throw new NotFoundError("Task", taskId);
        return { status: 202, body: { resumed: true, movieId, task: describeTask(task) } };
      },
    }),
    cancel: defineAction({
      input: byMovieId,
      async run({ movieId }, caller) {
        const movie = await ownMovie(deps, movieId, caller.userId);
        // The owner's cancel, as by the film's task id or the public.cancel_task RPC: one
        // transaction, which takes the film's rows first and cancels only a film still pending or
        // processing (engine.cancel_by_owner). When it cancelled the task, the film's end follower
        // (public.movie_follows_its_task, at its commit) makes the movie and progress row
        // `cancelled` and enqueues film.cancel_jobs, which cancels at their providers the jobs
        // already paid for and still running.
        const cancelled = movie.task_id ? await store.cancelByOwner(movie.task_id) : false;
        if (!cancelled) throw new ConflictError("task_finished", `Movie ${movieId} has already ended`);
        return { body: { cancelled: true, movieId } };
      },
    }),
  };
  const usage = defineAction({
    input: z.object({}).strict(),
    async run(_input, caller) {
      return { body: await usageReport(sql, caller.userId) };
    },
  });
  return {
    start: actions.start,
    quote: actions.quote,
    status: orTask("status", actions.status),
    // Resuming a film runs its paid steps again.
    resume: { ...orTask("resume", actions.resume), spends: true },
    cancel: orTask("cancel", actions.cancel),
    usage,
  };
}
