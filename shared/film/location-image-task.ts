/**
 * film.location_image (generate-scene-video): the reference image of one place + time of day +
 * weather, generated once per film however many chain heads need it at the same moment. Every
 * scene that needs a new variant submits this task under one idempotency key and waits for it
 * like a provider job (parked until it ends: engine.await_tasks); the task pays for one image,
 * copies it into Storage and saves it in location_images (times_used is counted by the scenes
 * that use it, not here).
 *
 * A location marked needs_web_search is first searched for when the owner registered a search
 * provider (location-search.ts): a found image is copied in with its licence and credit line and
 * nothing is generated; when the search fails or no candidate passes, the image is generated as
 * for any location and the row's search_note says why.
 */
import { PermanentTaskError } from "../errors.ts";
import type { TaskHandler } from "../engine/slice-runner.ts";
import type { TaskContext } from "../engine/task-context.ts";
import { ProviderError } from "../providers/provider-errors.ts";
import type { JobState } from "../providers/types.ts";
import type { TransactionSql } from "../db/client.ts";
import { type FilmDeps, type FilmEnv, filmEnv, filmPath } from "./film-env.ts";
import { failureDetail, runJob } from "./film-jobs.ts";
import { storeOutput } from "./store-output.ts";
import {
  CHECK_BUDGET_MS,
  locationQuery,
  type LocationSearch,
  searchLocationImage,
} from "./location-search.ts";
import type { TaskKind } from "../engine/task-routes.ts";

export const LOCATION_IMAGE_KIND = "film.location_image" satisfies TaskKind;

export type LocationImagePayload = {
  movieId: string;
  /** The first scene that asked for it: names its files and metrics. */
  sceneNumber: number;
  locationName: string;
  locationSlug: string;
  timeOfDay: string;
  weather: string;
  prompt: string;
  width: number;
  height: number;
};

export type LocationImage = {
  url: string;
  imageId: string;
};

export function locationImageHandler(deps: FilmDeps): TaskHandler {
  return async (ctx) => {
    // The payload awaitLocationImage enqueued, back from jsonb.
    const p = ctx.payload as LocationImagePayload;
    const env = await filmEnv(deps, ctx.task.userId);
    const s = `scene-${p.sceneNumber}`;
    const search = env.providers.search;
    const searched = search
      ? await ctx.step("search", async (tx): Promise<LocationSearch | null> => {
        const [location] = await tx`
          select name, description, needs_web_search from public.locations_library
           where user_id = ${ctx.task.userId} and location_slug = ${p.locationSlug}`;
        if (!location?.needs_web_search) return null;
        return await searchLocationImage(
          {
            search,
            storage: env.storage,
            bucket: env.bucket,
            ownerId: env.userId,
            // Leave the slice room to record the step; a short slice still checks a candidate or two.
            budgetMs: Math.max(20_000, Math.min(CHECK_BUDGET_MS, ctx.budget.untilKillMs() - 30_000)),
          },
          locationQuery(location.name, location.description),
          // Most found images are photos; the stored object keeps the served type whatever its name.
          filmPath(env, p.movieId, `${s}-reference-found.jpg`),
        );
      })
      : null;
    if (searched?.found) {
      const f = searched.found;
      const saved = await ctx.step("save", async (tx) => {
        const source = f.sourceUrl ?? f.url;
        await tx`
          insert into public.location_images (user_id, location_name, location_slug, time_of_day, weather, image_url, generation_prompt, times_used, created_by_movie_id, location_id,
                                              image_origin, found_image_url, source_url, license, license_version, license_url, creator, attribution)
          values (${ctx.task.userId}, ${p.locationName}, ${p.locationSlug}, ${p.timeOfDay}, ${p.weather}, ${f.storedUrl}, ${p.prompt}, 0, ${p.movieId},
                  (select id from public.locations_library where user_id = ${ctx.task.userId} and location_slug = ${p.locationSlug}),
                  'web_search', ${f.storedUrl}, ${source}, ${f.license}, ${f.licenseVersion}, ${f.licenseUrl}, ${f.creator}, ${f.attribution})
          on conflict on constraint location_images_one_per_variant do nothing`;
        return await savedVariant(tx, ctx.task.userId, p);
      });
      return { type: "done", result: saved };
    }
    const image = await runJob(ctx, {
      sql: env.sql,
      name: "image",
      provider: env.providers.image,
      request: { prompt: p.prompt, width: p.width, height: p.height, purpose: "location" as const },
      metric: {
        movieId: p.movieId,
        userId: ctx.task.userId,
        step: "generate_videos",
        sceneNumber: p.sceneNumber,
      },
      cost: { units: 1, unit: "images" },
      pollEveryMs: env.pollMs,
    });
    if (!image.ok) {
      // The code is the error's own: the scene quotes it before the message (awaitLocationImage).
      throw new PermanentTaskError(image.failureCode, `reference image failed: ${failureDetail(image)}`);
    }
    const url = await storeOutput(
      ctx,
      env,
      "copy",
      image.url,
      "image",
      filmPath(env, p.movieId, `${s}-reference.png`),
    );
    const saved = await ctx.step("save", async (tx) => {
      // Another film of this owner may have saved the variant meanwhile: theirs stays, ours is unused.
      await tx`
        insert into public.location_images (user_id, location_name, location_slug, time_of_day, weather, image_url, generation_prompt, times_used, created_by_movie_id, location_id, search_note)
        values (${ctx.task.userId}, ${p.locationName}, ${p.locationSlug}, ${p.timeOfDay}, ${p.weather}, ${url}, ${p.prompt}, 0, ${p.movieId},
                (select id from public.locations_library where user_id = ${ctx.task.userId} and location_slug = ${p.locationSlug}),
                ${searched ? searched.reason : null})
        on conflict on constraint location_images_one_per_variant do nothing`;
      return await savedVariant(tx, ctx.task.userId, p);
    });
    return { type: "done", result: saved };
  };
}

/** The variant's row, ours or the one another film saved first. */
async function savedVariant(
  tx: TransactionSql,
  userId: string,
  p: LocationImagePayload,
): Promise<LocationImage> {
  const [row] = await tx`
    select id, image_url from public.location_images
     where user_id = ${userId} and location_slug = ${p.locationSlug} and time_of_day = ${p.timeOfDay} and weather = ${p.weather}`;
  return { url: row.image_url as string, imageId: row.id as string };
}

/** The variant's image for a scene: submitted once per film and variant, waited for parked (jobIsTask). */
export async function awaitLocationImage(
  ctx: TaskContext,
  env: FilmEnv,
  stepName: string,
  payload: LocationImagePayload,
): Promise<LocationImage> {
  return await ctx.providerStep<LocationImage>(stepName, {
    submit: async () => {
      const variant = (idempotencyKey: string) =>
        env.store.enqueue({
          userId: env.userId,
          kind: LOCATION_IMAGE_KIND,
          payload,
          idempotencyKey,
          // A child of the chain that asked first: cancelling the film cancels it too.
          parentId: ctx.task.id,
        });
      const key = [payload.movieId, payload.locationSlug, payload.timeOfDay, payload.weather].join("/");
      let task = await variant(key);
      // A failed or cancelled earlier attempt (a scene made again later, a film resumed after its
      // jobs were cancelled) is not run again: it would replay its recorded job outcome and fail
      // the same way every time. The next attempt is a task of its own, keyed after the one it
      // replaces, so scenes asking at the same moment still share one.
      while (task.status === "failed" || task.status === "cancelled") {
        task = await variant(`${key}/after:${task.id}`);
      }
      return task.id;
    },
    poll: async (taskId) => {
      const state = await locationTaskState(env, taskId);
      if (state.state === "succeeded") return state.output;
      // The scene's failure, as a refused provider job would be (scene-video.ts isSceneFailure).
      if (state.state === "failed") {
        throw new ProviderError(
          { provider: "image", failureCode: state.failureCode, retryable: false },
          state.message,
        );
      }
      return null;
    },
    pollEveryMs: Math.min(env.pollMs, 500),
    jobIsTask: true,
  });
}

async function locationTaskState(env: FilmEnv, taskId: string): Promise<JobState<LocationImage>> {
  const task = await env.store.get(taskId);
  if (!task) {
    return { state: "failed", failureCode: "job_missing", message: `location image task ${taskId} is gone` };
  }
  if (task.status === "succeeded") return { state: "succeeded", output: task.result as LocationImage };
  if (task.status === "failed" || task.status === "cancelled") {
    const error = (task.lastError ?? {}) as { code?: string; message?: string };
    return {
      state: "failed",
      failureCode: error.code ?? task.status,
      message: error.message ?? `location image task ${task.status}`,
    };
  }
  return { state: "pending" };
}
