/**
 * Steps 0–3 inside the film.produce task, each a recorded ctx.step: validate_providers,
 * plan_production (+ locations_library), create_visual_bible (visual_bibles), generate_screenplay
 * (scripts, movies.metadata.screenplay_detailed, movie_scenes `pending`). LLM calls record their
 * intent first and their tokens as cost units.
 */
import type { TaskContext } from "../engine/task-context.ts";
import { PermanentTaskError } from "../errors.ts";
import {
  filmBriefBlock,
  filmRequest,
  type FilmSchemaName,
  type ProductionPlan,
  type Screenplay,
  type VisualBible,
} from "../providers/film-schemas.ts";
import { slug } from "../providers/film-schemas.ts";
import { findCachedContent, llmCacheKey, storeCachedContent } from "../caches/asset-cache.ts";
import type { FilmEnv } from "./film-env.ts";
import { recordFinished } from "./film-metrics.ts";
import { admitSyncIntent, BUDGET_EXCEEDED, BudgetExceededError } from "./film-budget.ts";
import type { MovieRow } from "./film-movie.ts";
import { type FilmStep, updateStep } from "./film-progress.ts";
import { planScenes, sceneCountFor } from "./scene-plan.ts";

const REQUIRED = ["llm", "video", "audio"] as const;

export async function validateProviders(ctx: TaskContext, env: FilmEnv, movie: MovieRow) {
  return await ctx.step("validate_providers", async (tx) => {
    const missing = env.config.REELFORGE_LOCAL_FALLBACK === "off"
      ? REQUIRED.filter((type) => env.resolved[type].source === "fallback")
      : [];
    if (missing.length) {
      throw new PermanentTaskError(
        "providers_missing",
        `validate_providers: no active ${
          missing.join(", ")
        } provider configured; register one with the providers function`,
      );
    }
    await updateStep(tx, movie.id, "validate_providers", { status: "completed", detail: "Providers ready" });
    return Object.fromEntries(
      Object.entries(env.resolved).map((
        [type, p],
      ) => [type, { provider: p.provider, model: p.model, source: p.source }]),
    );
  });
}

async function askLlm<N extends FilmSchemaName>(
  ctx: TaskContext,
  env: FilmEnv,
  movie: MovieRow,
  step: FilmStep,
  name: N,
  system: string,
) {
  const brief = {
    title: movie.title,
    prompt: movie.prompt,
    genre: movie.genre,
    duration_minutes: Number(movie.duration_minutes),
  };
  const llm = env.providers.llm;
  const request = filmRequest(name, { system, user: filmBriefBlock(brief) });
  // content_cache: the same question to the same model is answered once per user (the answer is
  // recorded by the step that uses it, so a hit is 0 tokens there).
  const inputs = {
    provider: llm.provider,
    model: llm.model,
    name,
    system,
    user: request.user,
    maxTokens: request.maxTokens,
    temperature: request.temperature,
    // A regenerated script is a new take (asset-take.ts): its questions are not answered from cache.
    take: typeof movie.metadata.script_take === "number" ? movie.metadata.script_take : undefined,
  };
  const key = await llmCacheKey(inputs);
  const cached = await findCachedContent(env.sql, movie.user_id, key);
  const hit = cached === null ? null : request.parse.safeParse(cached);
  if (hit?.success) return { value: hit.data, tokens: 0 };
  // A film whose spend reached its cap (a redone script) asks no more: it fails (film-budget.ts).
  await admitSyncIntent(env.sql, {
    movieId: movie.id,
    userId: movie.user_id,
    step,
    taskId: ctx.task.id,
    stepName: step,
    provider: llm.provider,
    model: llm.model,
  }).catch((error) => {
    if (error instanceof BudgetExceededError) throw new PermanentTaskError(BUDGET_EXCEEDED, error.message);
    throw error;
  });
  await updateStep(env.sql, movie.id, step, {
    status: "running",
    progress: 10,
    detail: `Asking ${llm.provider} for the ${name.replace("_", " ")}`,
  });
  const { value, usage } = await llm.generateJson(request);
  const tokens = usage.promptTokens + usage.completionTokens;
  await storeCachedContent(env.sql, movie.user_id, key, inputs, value, tokens);
  return { value, tokens };
}

export async function planProduction(
  ctx: TaskContext,
  env: FilmEnv,
  movie: MovieRow,
): Promise<ProductionPlan> {
  if (movie.metadata.production_plan) return movie.metadata.production_plan;
  const { value: plan, tokens } = await askLlm(
    ctx,
    env,
    movie,
    "plan_production",
    "production_plan",
    "You are a film's creative director. Plan locations, characters and scene-to-scene continuity for the brief.",
  );
  await ctx.step("plan_production", async (tx) => {
    for (const location of plan.locations) {
      await tx`
        insert into public.locations_library (user_id, location_slug, name, description, needs_web_search, created_by_movie_id)
        values (${movie.user_id}, ${
        slug(location.location_id)
      }, ${location.name}, ${location.description}, ${location.needs_web_search}, ${movie.id})
        on conflict on constraint locations_library_one_per_slug do nothing`;
    }
    await tx`update public.movies set metadata = metadata || ${
      tx.json({ production_plan: plan })
    } where id = ${movie.id}`;
    await recordFinished(tx, ctx.task.id, "plan_production", {
      ok: true,
      costUnits: tokens,
      costUnit: "tokens",
    });
    await updateStep(tx, movie.id, "plan_production", {
      status: "completed",
      detail: `${plan.locations.length} locations, ${plan.characters.length} characters`,
    });
  });
  movie.metadata.production_plan = plan;
  return plan;
}

export async function createVisualBible(
  ctx: TaskContext,
  env: FilmEnv,
  movie: MovieRow,
): Promise<VisualBible> {
  if (movie.metadata.visual_bible) return movie.metadata.visual_bible;
  const { value: bible, tokens } = await askLlm(
    ctx,
    env,
    movie,
    "create_visual_bible",
    "visual_bible",
    "You are a film's director of photography. Define its visual style, palette, camera, lighting and tone.",
  );
  await ctx.step("create_visual_bible", async (tx) => {
    await tx`
      insert into public.visual_bibles (movie_id, user_id, visual_style, color_palette, camera_style, lighting, emotional_tone, cinematic_references)
      values (${movie.id}, ${movie.user_id}, ${bible.visual_style}, ${
      tx.json(bible.color_palette)
    }, ${bible.camera_style},
              ${bible.lighting}, ${bible.emotional_tone}, ${tx.json(bible.cinematic_references)})
      on conflict on constraint visual_bibles_one_per_movie do nothing`;
    await tx`update public.movies set metadata = metadata || ${
      tx.json({ visual_bible: bible })
    } where id = ${movie.id}`;
    await recordFinished(tx, ctx.task.id, "create_visual_bible", {
      ok: true,
      costUnits: tokens,
      costUnit: "tokens",
    });
    await updateStep(tx, movie.id, "create_visual_bible", {
      status: "completed",
      detail: bible.visual_style,
    });
  });
  movie.metadata.visual_bible = bible;
  return bible;
}

export async function generateScreenplay(
  ctx: TaskContext,
  env: FilmEnv,
  movie: MovieRow,
  plan: ProductionPlan,
): Promise<Screenplay> {
  if (movie.metadata.screenplay_detailed) return movie.metadata.screenplay_detailed;
  const count = sceneCountFor(Number(movie.duration_minutes));
  const { value, tokens } = await askLlm(
    ctx,
    env,
    movie,
    "generate_screenplay",
    "screenplay",
    `You are a screenwriter. Write exactly ${count} scenes of 2-10 seconds each, following this production plan: ${
      JSON.stringify(plan)
    }`,
  );
  const scenes = planScenes(value, plan, count);
  const kept = new Set(scenes.map((s) => s.sceneNumber));
  const screenplay: Screenplay = { ...value, scenes: value.scenes.filter((s) => kept.has(s.scene_number)) };
  await ctx.step("generate_screenplay", async (tx) => {
    await tx`
      insert into public.scripts (movie_id, user_id, title, content) values (${movie.id}, ${movie.user_id}, ${screenplay.title}, ${
      tx.json(screenplay)
    })
      on conflict on constraint scripts_one_per_movie do nothing`;
    for (const s of scenes) {
      await tx`
        insert into public.movie_scenes (movie_id, user_id, scene_number, scene_id, location_name, location_slug, time_of_day, weather,
                                         is_continuation, continues_from, duration_seconds, status, audio_status)
        values (${movie.id}, ${movie.user_id}, ${s.sceneNumber}, ${s.sceneId}, ${s.locationName}, ${s.locationSlug}, ${s.timeOfDay},
                ${s.weather}, ${s.isContinuation}, ${s.continuesFrom}, ${s.durationSeconds}, 'pending', 'pending')
        on conflict on constraint movie_scenes_one_per_number do nothing`;
    }
    await tx`update public.movies set metadata = metadata || ${
      tx.json({ screenplay_detailed: screenplay })
    } where id = ${movie.id}`;
    await recordFinished(tx, ctx.task.id, "generate_screenplay", {
      ok: true,
      costUnits: tokens,
      costUnit: "tokens",
    });
    await updateStep(tx, movie.id, "generate_screenplay", {
      status: "completed",
      detail: `${scenes.length} scenes`,
    });
  });
  movie.metadata.screenplay_detailed = screenplay;
  return screenplay;
}
