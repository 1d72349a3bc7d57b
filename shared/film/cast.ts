/**
 * Step 3, assign_characters: every character the plan or the screenplay names is found in
 * the owner's `characters` library or created there with a voice the rest of the film's cast does
 * not hold (cast-voices.ts); characters without a portrait get one from the image provider (all
 * portraits in parallel, each a recorded provider job).
 */
import type { TaskContext } from "../engine/task-context.ts";
import type { ProductionPlan, Screenplay } from "../providers/film-schemas.ts";
import type { FilmEnv } from "./film-env.ts";
import { allSteps, runJob } from "./film-jobs.ts";
import type { MovieRow } from "./film-movie.ts";
import { lockFilmOwner, updateStep } from "./film-progress.ts";
import { storeOutput } from "./store-output.ts";
import { portraitRequest } from "./film-requests.ts";
import { castVoices, nameKey } from "./cast-voices.ts";

/** Plan characters first (they carry descriptions), then anyone else the screenplay names. */
export function castOf(plan: ProductionPlan, screenplay: Screenplay) {
  const cast = new Map<
    string,
    { name: string; role: string | null; description: string; voice_description: string | null }
  >();
  for (const c of plan.characters) {
    cast.set(nameKey(c.name), {
      name: c.name,
      role: c.role,
      description: c.description,
      voice_description: c.voice_description,
    });
  }
  for (const scene of screenplay.scenes) {
    for (const name of [...scene.characters_in_scene, ...scene.dialogue.map((d) => d.character)]) {
      const key = nameKey(name);
      if (!cast.has(key)) cast.set(key, { name, role: null, description: name, voice_description: null });
    }
  }
  return [...cast.values()];
}

/** The pipeline's portrait request (regenerate-asset's default for a character's image). */
export async function assignCharacters(
  ctx: TaskContext,
  env: FilmEnv,
  movie: MovieRow,
  plan: ProductionPlan,
  screenplay: Screenplay,
) {
  const cast = castOf(plan, screenplay);
  const keys = cast.map((c) => nameKey(c.name));
  const rows = await ctx.step("assign_characters", async (tx) => {
    // One film of the owner at a time picks voices (owner first, as every film transaction), so
    // each sees the characters another film has just added and picks around their voices.
    await lockFilmOwner(tx, movie.id);
    await tx`select pg_advisory_xact_lock(hashtextextended(${"reelforge.cast:" + movie.user_id}, 0))`;
    const library = await tx`
      select name_key, voice_id from public.characters where user_id = ${movie.user_id} and name_key = any(${keys})`;
    const voices = castVoices(
      env.providers.audio.provider,
      cast,
      new Map(library.map((r) => [r.name_key as string, r.voice_id as string])),
      screenplay.scenes,
    );
    for (const c of cast) {
      const voice = voices.get(nameKey(c.name))!;
      // A library character whose voice this provider cannot speak takes the one cast here, in
      // every film from now on (castVoices); the others keep theirs.
      await tx`
        insert into public.characters (user_id, name, role, description, voice_description, voice_id, created_by_movie_id)
        values (${movie.user_id}, ${c.name}, ${c.role}, ${c.description}, ${c.voice_description}, ${voice}, ${movie.id})
        on conflict on constraint characters_one_per_name do update set voice_id = excluded.voice_id
        where characters.voice_id is distinct from excluded.voice_id`;
    }
    await updateStep(tx, movie.id, "assign_characters", {
      status: "running",
      progress: 30,
      detail: `${cast.length} characters`,
    });
    return await tx`
      select id, name, description, character_image_url from public.characters
       where user_id = ${movie.user_id} and name_key = any(${keys})`;
  }) as { id: string; name: string; description: string; character_image_url: string | null }[];

  const image = env.providers.image;
  await allSteps(
    rows.filter((r) => !r.character_image_url).map((c) => async () => {
      const outcome = await runJob(ctx, {
        sql: env.sql,
        name: `portrait:${c.id}`,
        provider: image,
        request: portraitRequest(c),
        metric: { movieId: movie.id, userId: movie.user_id, step: "assign_characters" },
        cost: { units: 1, unit: "images" },
        pollEveryMs: env.pollMs,
      });
      // A missing portrait does not stop a film: it is only needed for the character page.
      if (!outcome.ok) return;
      const url = await storeOutput(
        ctx,
        env,
        `portrait-copy:${c.id}`,
        outcome.url,
        "image",
        `films/${env.userId}/characters/${c.id}.png`,
      );
      await ctx.step(
        `portrait-save:${c.id}`,
        (tx) =>
          tx`update public.characters set character_image_url = ${url} where id = ${c.id}`.then(() => url),
      );
    }),
  );
  await ctx.step(
    "assign_characters:done",
    (tx) =>
      updateStep(tx, movie.id, "assign_characters", {
        status: "completed",
        detail: `${rows.length} characters with portraits`,
      }),
  );
}
