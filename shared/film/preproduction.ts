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
import { metricProvider, recordFinished } from "./film-metrics.ts";
import { admitSyncIntent, BUDGET_EXCEEDED, BudgetExceededError } from "./film-budget.ts";
import type { MovieRow } from "./film-movie.ts";
import { type FilmStep, lockFilmProgress, updateStep } from "./film-progress.ts";
import { maxScenesFor, type PlannedScene, planScenes, sceneCountFor } from "./scene-plan.ts";
import { FILM_FPS, transitionBetween } from "./film-timeline.ts";
import { type FilmCut, overlapSeconds, planShots, shotGrid } from "./shot-plan.ts";

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
    ...metricProvider(llm),
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
    await lockFilmProgress(tx, movie.id);
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
    await lockFilmProgress(tx, movie.id);
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
  const minutes = Number(movie.duration_minutes);
  const count = sceneCountFor(minutes);
  const { value, tokens } = await askLlm(
    ctx,
    env,
    movie,
    "generate_screenplay",
    "screenplay",
    `You are a screenwriter. Write ${count} scenes for a film of ${minutes} minutes, giving each scene its ` +
      `screen time in seconds (about ${
        Math.round((minutes * 60) / count)
      } s each; they are cut into shots later), ` +
      `following this production plan: ${JSON.stringify(plan)}. ` +
      // A Spanish brief was filmed with English lines: nothing told the writer which language to
      // speak. Only the lines: scene descriptions feed the image and video models' prompts.
      `Write every line of dialogue in the language the brief is written in; everything else in English.`,
  );
  const video = env.providers.video;
  const grid = shotGrid(video.provider, video.model, video.registered);
  const scenes = planScenes(value, plan, maxScenesFor(minutes * 60, grid[0]));
  const cut = cutScenes(scenes, minutes * 60, grid);
  const screenplay = plannedScreenplay(value, cut);
  const seconds = new Map(cut.scenes.map((c) => [c.sceneNumber, c.seconds]));
  const shotCount = cut.scenes.reduce((sum, c) => sum + c.shots.length, 0);
  await ctx.step("generate_screenplay", async (tx) => {
    await lockFilmProgress(tx, movie.id);
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
                ${s.weather}, ${s.isContinuation}, ${s.continuesFrom}, ${seconds.get(
        s.sceneNumber,
      )!}, 'pending', 'pending')
        on conflict on constraint movie_scenes_one_per_number do nothing`;
    }
    for (const scene of cut.scenes) {
      await tx`
        insert into public.scene_shots (movie_id, scene_id, user_id, shot_number, duration_seconds)
        select ${movie.id}, s.id, ${movie.user_id}, shot.n::int, shot.seconds
          from public.movie_scenes s, unnest(${scene.shots}::numeric[]) with ordinality as shot(seconds, n)
         where s.movie_id = ${movie.id} and s.scene_number = ${scene.sceneNumber}
        on conflict on constraint scene_shots_one_per_number do nothing`;
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
      detail: `${scenes.length} scenes, ${shotCount} shots, ${Math.round(cut.filmSeconds)} s`,
    });
  });
  movie.metadata.screenplay_detailed = screenplay;
  return screenplay;
}

/** The scenes' lengths and shots: the proposals scaled to the film, transitions counted. */
export function cutScenes(scenes: PlannedScene[], targetSeconds: number, grid: number[]): FilmCut {
  return planShots(
    scenes.map((scene, i) => ({
      sceneNumber: scene.sceneNumber,
      proposedSeconds: scene.durationSeconds,
      overlapAfterSeconds: i + 1 < scenes.length
        ? overlapSeconds(transitionBetween(scene, scenes[i + 1]), FILM_FPS)
        : 0,
    })),
    targetSeconds,
    grid,
  );
}

/**
 * The screenplay as the film plays it: only the kept scenes, each with its planned screen time,
 * and its lines moved with it (their timings scaled like the scene).
 */
function plannedScreenplay(written: Screenplay, cut: FilmCut): Screenplay {
  const byNumber = new Map(cut.scenes.map((c) => [c.sceneNumber, c]));
  return {
    ...written,
    scenes: written.scenes.filter((s) => byNumber.has(s.scene_number)).map((scene) => {
      const planned = byNumber.get(scene.scene_number)!;
      return {
        ...scene,
        duration: { ...scene.duration, screen_time_seconds: planned.seconds },
        dialogue: scene.dialogue.map((line) => ({
          ...line,
          timing: Math.round(Math.min(line.timing * planned.scale, Math.max(0, planned.seconds - 1)) * 100) /
            100,
        })),
      };
    }),
  };
}
