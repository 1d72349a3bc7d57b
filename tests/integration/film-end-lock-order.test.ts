/**
 * A film's end (here its cancel) locks the film's progress row and then the movie, at commit
 * (public.movie_follows_its_task), the order in which a step's progress update takes them
 * (updateStep, shared/film/film-progress.ts, one statement). Interleaved here at the worst moment,
 * the cancel waits for the update to finish instead of deadlocking with it: Postgres would abort
 * one of them (40P01), and neither transaction here is retried.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import postgres from "postgres";
import { connect, createUser, type Sql, stackEnv, waitFor, waitsOnLock } from "../support/stack.ts";

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

/** Cancels the produce task on a connection of its own, without retrying a deadlock. */
function cancelOn(db: postgres.Sql, produceId: string) {
  return db.begin((tx) => tx`select engine.cancel_task(${produceId}, 'cancelled by test') as ok`)
    .then(([row]) => row.ok as boolean);
}

describe("a film's end beside an update of its progress", () => {
  it("takes the film's progress row before the movie at commit, the order a progress update takes them", async () => {
    const film = await filmWithRunningChild();
    const applicationName = `cancel-${crypto.randomUUID().slice(0, 8)}`;
    const canceller = postgres(stackEnv().DB_URL, {
      max: 1,
      connection: { application_name: applicationName },
    });
    const writer = await sql.reserve();
    try {
      // updateStep's one statement locks the progress row, then updates the movie; held open here
      // between the two.
      await writer`begin`;
      await writer`select from public.movie_creation_progress where movie_id = ${film.movieId} for update`;
      const cancelling = cancelOn(canceller, film.produceId);
      await waitFor(() => waitsOnLock(sql, applicationName), {
        everyMs: 10,
        what: `${applicationName} to wait for a lock`,
      });
      await writer`update public.movies set progress = 10 where id = ${film.movieId}`;
      await writer`commit`;
      expect(await cancelling).toBe(true);
    } finally {
      await writer`rollback`.catch(() => {});
      writer.release();
      await canceller.end();
    }
    const [movie] = await sql`select status, progress from public.movies where id = ${film.movieId}`;
    expect(movie).toEqual({ status: "cancelled", progress: 10 });
  });
});
