/**
 * assign_characters' step body against the real database: the owner's library decides which voices
 * a film's new characters may take. Only the task's bookkeeping around the step is left out (its
 * portraits are not made here: the image job answers failed, which a film takes in its stride).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type postgres from "postgres";
import type { TaskContext } from "../../shared/engine/task-context.ts";
import { assignCharacters } from "../../shared/film/cast.ts";
import { ELEVENLABS_VOICES } from "../../shared/film/cast-voices.ts";
import type { FilmEnv } from "../../shared/film/film-env.ts";
import type { MovieRow } from "../../shared/film/film-movie.ts";
import type { ProductionPlan, Screenplay } from "../../shared/providers/film-schemas.ts";
import { connect, createUser, type Sql } from "../support/stack.ts";

let sql: Sql;
beforeAll(() => {
  sql = connect();
});
afterAll(() => sql.end());

type Run = (tx: postgres.TransactionSql) => Promise<unknown>;
const noPortraits = async () => ({
  ok: false,
  failureCode: "not_here",
  message: "no portraits in this test",
});
const stepsOn = (db: Sql) => ({
  task: { id: crypto.randomUUID() },
  step: (_name: string, run: Run) => db.begin(run),
  providerStep: noPortraits,
});

async function film(userId: string, title: string): Promise<MovieRow> {
  const [movie] = await sql`
    insert into public.movies (user_id, title, prompt, genre, duration_minutes, status)
    values (${userId}, ${title}, 'p', 'drama', 1, 'processing') returning *`;
  await sql`insert into public.movie_creation_progress (movie_id, user_id) values (${movie.id}, ${userId})`;
  return movie as unknown as MovieRow;
}

/** A plan of these characters, and one scene in which they all speak. */
function brief(names: string[]) {
  const plan = {
    characters: names.map((name) => ({
      name,
      role: "supporting",
      description: `${name}, someone`,
      voice_description: "warm",
    })),
  } as unknown as ProductionPlan;
  const screenplay = {
    scenes: [{
      characters_in_scene: names,
      dialogue: names.map((character) => ({ character, line: `I am ${character}.`, timing: 0 })),
    }],
  } as unknown as Screenplay;
  return { plan, screenplay };
}

function envOf(userId: string, voices = "elevenlabs"): FilmEnv {
  return {
    sql,
    userId,
    pollMs: 10,
    providers: {
      audio: { provider: voices, model: voices === "elevenlabs" ? "eleven_flash_v2_5" : "local-tts" },
      image: { provider: "fal", model: "fal-ai/flux/schnell", validate: () => {} },
    },
  } as unknown as FilmEnv;
}

async function cast(ctx: object, userId: string, movie: MovieRow, names: string[], voices?: string) {
  const { plan, screenplay } = brief(names);
  await assignCharacters(ctx as unknown as TaskContext, envOf(userId, voices), movie, plan, screenplay);
}

/** Each of the owner's characters' voice, by name. */
const voicesOf = async (userId: string, db: Sql | postgres.TransactionSql = sql) =>
  Object.fromEntries(
    (await db`select name, voice_id from public.characters where user_id = ${userId}`).map((
      r,
    ) => [r.name, r.voice_id]),
  );

describe("assign_characters' voices", () => {
  it("gives a new character of a second film a voice none of its library cast holds", async () => {
    const user = await createUser(sql);
    await cast(stepsOn(sql), user.id, await film(user.id, "One"), ["Ada", "Bruno", "Carmen"]);
    const first = await voicesOf(user.id);
    expect(new Set(Object.values(first)).size).toBe(3);

    await cast(stepsOn(sql), user.id, await film(user.id, "Two"), ["Dora", "Ada", "Bruno"]);
    const second = await voicesOf(user.id);
    // The library's characters keep their voices.
    expect(second).toMatchObject(first);
    // Before: Dora took the first voice by her place in the plan, the one Ada already had, and
    // their lines in one scene sounded like one speaker.
    expect([second.Ada, second.Bruno]).not.toContain(second.Dora);
  });

  it("picks the same voices when the step is killed before its commit and runs again", async () => {
    const user = await createUser(sql);
    await cast(stepsOn(sql), user.id, await film(user.id, "One"), ["Ada", "Bruno"]);
    const movie = await film(user.id, "Two");
    let killed: Record<string, string> = {};
    const dying = {
      ...stepsOn(sql),
      step: (_name: string, run: Run) =>
        sql.begin(async (tx) => {
          await run(tx);
          killed = await voicesOf(user.id, tx);
          throw new Error("killed before the commit");
        }),
    };
    const names = ["Emil", "Ada", "Fay", "Bruno"];
    await expect(cast(dying, user.id, movie, names)).rejects.toThrow("killed before the commit");
    expect(Object.keys(killed)).toHaveLength(4);
    await cast(stepsOn(sql), user.id, movie, names);
    expect(await voicesOf(user.id)).toEqual(killed);
    expect(new Set(Object.values(killed)).size).toBe(4);
  });

  it("moves a library character voiced on local to an ElevenLabs voice once its owner's voices are there", async () => {
    const user = await createUser(sql);
    await cast(stepsOn(sql), user.id, await film(user.id, "One"), ["Ada", "Bruno"], "local");
    expect(await voicesOf(user.id)).toEqual({ Ada: "voice-ada", Bruno: "voice-bruno" });

    await cast(stepsOn(sql), user.id, await film(user.id, "Two"), ["Ada", "Bruno"]);
    const moved = await voicesOf(user.id);
    // Before: both kept `voice-…`, which ElevenLabs' adapter refuses, so every line of theirs failed.
    for (const voice of Object.values(moved)) expect(ELEVENLABS_VOICES).toContain(voice);
    expect(moved.Ada).not.toBe(moved.Bruno);

    // Back on local, the ElevenLabs voices stay: local speaks any id.
    await cast(stepsOn(sql), user.id, await film(user.id, "Three"), ["Ada", "Bruno"], "local");
    expect(await voicesOf(user.id)).toEqual(moved);
  });
});
