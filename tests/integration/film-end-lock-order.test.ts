/**
 * A film's end (here its cancel) locks the film's progress row and then the movie, at commit
 * (public.movie_follows_its_task), the order in which a step's progress update takes them
 * (updateStep, shared/film/film-progress.ts, one statement). So does a step that writes the movie
 * itself (here finalize, shared/film/postproduction.ts: lockFilmProgress first). Interleaved here
 * at the worst moment, each waits for the update to finish instead of deadlocking with it:
 * Postgres would abort one of them (40P01), and no transaction here is retried.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import postgres from "postgres";
import type { TaskContext } from "../../shared/engine/task-context.ts";
import { loadMovie } from "../../shared/film/film-movie.ts";
import { finalizeMovie } from "../../shared/film/postproduction.ts";
import { connect, createUser, namedConnection, type Sql, waitFor, waitsOnLock } from "../support/stack.ts";

let sql: Sql;
let userId: string;

beforeAll(async () => {
  sql = connect();
  userId = (await createUser(sql)).id;
});
afterAll(() => sql.end());

/** A processing film: its produce task (with a claimed child), the movie and its progress row. */
async function filmWithRunningChild() {
  const [produce] = await sql`
    select id from engine.enqueue_task(p_user_id => ${userId}, p_kind => 'film.produce',
      p_function => 'produce-movie', p_dispatch => false)`;
  const childKind = `lockorder.child.${crypto.randomUUID()}`;
  await sql`
    select engine.enqueue_task(p_user_id => ${userId}, p_kind => ${childKind}, p_function => null,
      p_parent_id => ${produce.id}, p_dispatch => false)`;
  const [child] = await sql`select * from engine.claim_next_task(${[childKind]}, 'lock-order', 60)`;
  const [movie] = await sql`
    insert into public.movies (user_id, title, prompt, genre, duration_minutes, status, task_id)
    values (${userId}, 'Lock order', 'p', 'drama', 1, 'processing', ${produce.id}) returning id`;
  await sql`insert into public.movie_creation_progress (movie_id, user_id) values (${movie.id}, ${userId})`;
  return { produceId: produce.id as string, childId: child.id as string, movieId: movie.id as string };
}

/**
 * Holds the film's progress row as updateStep's one statement does (its first lock) until
 * `contender` waits for a lock, then updates the movie (its second) and commits.
 */
async function updateProgressBeside(
  movieId: string,
  applicationName: string,
  contender: () => Promise<unknown>,
) {
  const writer = await sql.reserve();
  try {
    await writer`begin`;
    await writer`select from public.movie_creation_progress where movie_id = ${movieId} for update`;
    const contending = contender();
    contending.catch(() => {}); // awaited below; a writer's error must not leave it unhandled
    await waitFor(() => waitsOnLock(sql, applicationName), {
      everyMs: 10,
      what: `${applicationName} to wait for a lock`,
    });
    await writer`update public.movies set progress = 10 where id = ${movieId}`;
    await writer`commit`;
    return await contending;
  } finally {
    await writer`rollback`.catch(() => {});
    writer.release();
  }
}

/** Cancels the produce task on a connection of its own, without retrying a deadlock. */
function cancelOn(db: postgres.Sql, produceId: string) {
  return db.begin((tx) => tx`select engine.cancel_task(${produceId}, 'cancelled by test') as ok`)
    .then(([row]) => row.ok as boolean);
}

describe("a film's end beside an update of its progress", () => {
  it("takes the film's progress row before the movie at commit, the order a progress update takes them", async () => {
    const film = await filmWithRunningChild();
    const { applicationName, db: canceller } = namedConnection("cancel");
    try {
      const cancelled = await updateProgressBeside(
        film.movieId,
        applicationName,
        () => cancelOn(canceller, film.produceId),
      );
      expect(cancelled).toBe(true);
    } finally {
      await canceller.end();
    }
    const [movie] = await sql`select status, progress from public.movies where id = ${film.movieId}`;
    expect(movie).toEqual({ status: "cancelled", progress: 10 });
  });
});

describe("a film step that writes the movie beside another step's progress update", () => {
  it("finalize takes the film's progress row before the movie", async () => {
    const film = await filmWithRunningChild();
    await sql`
      insert into public.movie_scenes (movie_id, user_id, scene_number, scene_id, location_name, location_slug, time_of_day, weather, duration_seconds, status)
      values (${film.movieId}, ${userId}, 1, 'scene-1', 'Harbour', 'harbour', 'day', 'clear', 5, 'completed')`;
    const movie = await loadMovie(sql, film.movieId);
    const { applicationName, db: finalizer } = namedConnection("finalize");
    // The real step body on a connection of its own; only the task's bookkeeping around it is left out.
    const ctx = {
      step: (_name: string, run: (tx: postgres.TransactionSql) => Promise<unknown>) => finalizer.begin(run),
    };
    try {
      const verdict = await updateProgressBeside(
        film.movieId,
        applicationName,
        () =>
          finalizeMovie(ctx as unknown as TaskContext, movie, {
            url: "https://films.example/f.mp4",
            error: null,
          }, {
            poster_url: null,
            thumbnail_url: null,
          }),
      );
      expect(verdict).toMatchObject({ status: "completed", failedScenes: [] });
    } finally {
      await finalizer.end();
    }
    const [after] =
      await sql`select status, progress, video_url from public.movies where id = ${film.movieId}`;
    expect(after).toEqual({ status: "completed", progress: 100, video_url: "https://films.example/f.mp4" });
    const [progress] =
      await sql`select overall_status from public.movie_creation_progress where movie_id = ${film.movieId}`;
    expect(progress.overall_status).toBe("completed");
  });
});
