/**
 * A film follows its produce task: when the task ends failed or cancelled, by whichever engine
 * function ends it, the movie and its progress row leave `processing` in the same transaction
 * (engine.after_terminal notes the end in engine.watched_ends; public.movie_follows_its_task acts
 * on the note at commit). A task that succeeds leaves the film to its finalize step.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, createUser, type Sql } from "../support/stack.ts";

let sql: Sql;
let userId: string;

beforeAll(async () => {
  sql = connect();
  userId = (await createUser(sql)).id;
});
afterAll(() => sql.end());

/** A processing film whose produce task a worker holds: the task's id and token, the movie's id. */
async function processingFilm() {
  const [task] = await sql`
    select id from engine.enqueue_task(p_user_id => ${userId}, p_kind => 'film.produce',
      p_function => 'produce-movie', p_dispatch => false)`;
  const [claimed] = await sql`select fencing_token from engine.claim_task(${task.id}, 'film-follows', 60)`;
  const [movie] = await sql`
    insert into public.movies (user_id, title, prompt, genre, duration_minutes, status, task_id)
    values (${userId}, 'Follows', 'p', 'drama', 1, 'processing', ${task.id}) returning id`;
  await sql`
    insert into public.movie_creation_progress (movie_id, user_id, overall_status)
    values (${movie.id}, ${userId}, 'running')`;
  return { taskId: task.id as string, token: claimed.fencing_token as string, movieId: movie.id as string };
}

async function filmState(movieId: string) {
  const [state] = await sql`
    select m.status, m.error_message, p.overall_status, p.current_step_detail
      from public.movies m join public.movie_creation_progress p on p.movie_id = m.id
     where m.id = ${movieId}`;
  return state;
}

async function notesLeft(taskId: string) {
  const [{ n }] = await sql`select count(*)::int as n from engine.watched_ends where task_id = ${taskId}`;
  return n;
}

describe("a film whose produce task ends", () => {
  it("fails with it when the task fails for good", async () => {
    const film = await processingFilm();
    await sql`
      select engine.fail_task(${film.taskId}, ${film.token}::bigint, '{"code":"x","message":"the plan broke"}', false)`;
    expect(await filmState(film.movieId)).toEqual({
      status: "failed",
      error_message: "the plan broke",
      overall_status: "failed",
      current_step_detail: "the plan broke",
    });
    expect(await notesLeft(film.taskId)).toBe(0);
  });

  it("stays in production while the task only retries", async () => {
    const film = await processingFilm();
    const [{ outcome }] = await sql`
      select engine.fail_task(${film.taskId}, ${film.token}::bigint, '{"code":"x","message":"flaky"}', true) as outcome`;
    expect(outcome).toBe("queued");
    expect(await filmState(film.movieId)).toMatchObject({ status: "processing", overall_status: "running" });
  });

  it("is cancelled with it", async () => {
    const film = await processingFilm();
    await sql`select engine.cancel_task(${film.taskId}, 'cancelled by test')`;
    expect(await filmState(film.movieId)).toMatchObject({
      status: "cancelled",
      error_message: "cancelled by test",
      overall_status: "cancelled",
    });
    expect(await notesLeft(film.taskId)).toBe(0);
  });

  it("fails with it when its worker is lost for the last time allowed", async () => {
    const film = await processingFilm();
    await sql`
      update public.background_tasks
         set lease_expires_at = now() - interval '1 minute', stalls = max_stalls - 1
       where id = ${film.taskId}`;
    await sql`select engine.claim_task(${film.taskId}, 'successor', 60)`;
    const [task] =
      await sql`select status, last_error from public.background_tasks where id = ${film.taskId}`;
    expect(task.status).toBe("failed");
    expect(task.last_error.code).toBe("worker_lost");
    expect(await filmState(film.movieId)).toMatchObject({ status: "failed", overall_status: "failed" });
    expect(await notesLeft(film.taskId)).toBe(0);
  });

  it("is left to its finalize step when the task succeeds", async () => {
    const film = await processingFilm();
    await sql`select engine.complete_task(${film.taskId}, ${film.token}::bigint, '{}')`;
    expect(await filmState(film.movieId)).toMatchObject({ status: "processing", overall_status: "running" });
    expect(await notesLeft(film.taskId)).toBe(0);
  });

  it("is noted only at the end of a watched kind", async () => {
    const [task] = await sql`
      select id from engine.enqueue_task(p_user_id => ${userId}, p_kind => 'unwatched.kind',
        p_function => null, p_dispatch => false)`;
    const [claimed] = await sql`select fencing_token from engine.claim_task(${task.id}, 'w', 60)`;
    const noted = await sql.begin(async (tx) => {
      await tx`select engine.complete_task(${task.id}, ${claimed.fencing_token}::bigint, '{}')`;
      const [{ n }] = await tx`select count(*)::int as n from engine.watched_ends`;
      return n;
    });
    expect(noted).toBe(0);
  });
});
