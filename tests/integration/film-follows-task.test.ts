/**
 * A film follows its produce task: when the task ends failed or cancelled, by whichever engine
 * function ends it, the movie and its progress row leave `processing` in the same transaction
 * (engine.after_terminal notes the end in engine.watched_ends; public.movie_follows_its_task acts
 * on the note at commit). A task that succeeds leaves the film to its finalize step. A film
 * task's own work follows it the same way (public.film_work_follows_its_task): metrics rows that
 * never reached a provider close, and a scene whose mix task ended says so.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asUser, connect, createUser, invoke, type Sql, type TestUser } from "../support/stack.ts";
import { recordIntent } from "../../shared/film/film-metrics.ts";

let sql: Sql;
let user: TestUser;
let userId: string;

beforeAll(async () => {
  sql = connect();
  user = await createUser(sql);
  userId = user.id;
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

  it("is not cancelled once its finalize has committed, though its task still runs, by any path", async () => {
    const film = await processingFilm();
    // The finalize step committed (the film is done); the task has not yet recorded its end.
    await sql`update public.movies set status = 'completed' where id = ${film.movieId}`;
    await sql`update public.movie_creation_progress set overall_status = 'completed' where movie_id = ${film.movieId}`;
    const asOwner = { token: user.token };
    const byMovie = await invoke("produce-movie", { action: "cancel", movieId: film.movieId }, asOwner);
    const byTask = await invoke("produce-movie", { action: "cancel", taskId: film.taskId }, asOwner);
    const [{ ok: byRpc }] = await asUser(
      sql,
      userId,
      (tx) => tx`select public.cancel_task(${film.taskId}) as ok`,
    );
    // Before: 200 and a cancelled task behind a completed film (the RPC and the task id until
    // engine.cancel_by_owner took the film's rows first: true / 200).
    expect([byMovie.status, byMovie.json.error?.code]).toEqual([409, "task_finished"]);
    expect([byTask.status, byTask.json.error?.code]).toEqual([409, "task_finished"]);
    expect(byRpc).toBe(false);
    const [task] = await sql`select status from public.background_tasks where id = ${film.taskId}`;
    expect(task.status).toBe("running");
    expect(await filmState(film.movieId)).toMatchObject({ status: "completed", overall_status: "completed" });
    await sql`select engine.complete_task(${film.taskId}, ${film.token}::bigint, '{}')`;
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

describe("a film task's own work, when the task ends", () => {
  /** A film.music or film.mix task a worker holds, of a processing film with one scene. */
  async function heldChild(kind: "film.music" | "film.mix") {
    const film = await processingFilm();
    await sql`
      insert into public.movie_scenes (movie_id, user_id, scene_number, scene_id, location_name, location_slug,
                                       time_of_day, weather, duration_seconds, status, audio_status, mix_status)
      values (${film.movieId}, ${userId}, 1, 's1', 'Pier', 'pier', 'day', 'clear', 5, 'completed', 'completed', 'running')`;
    const [task] = await sql`
      select id from engine.enqueue_task(p_user_id => ${userId}, p_kind => ${kind},
        p_function => ${kind === "film.mix" ? "generate-audio" : "produce-movie"},
        p_payload => ${sql.json({ movieId: film.movieId, sceneNumber: 1 })}, p_parent_id => ${film.taskId},
        p_dispatch => false)`;
    const [claimed] = await sql`select fencing_token from engine.claim_task(${task.id}, 'film-work', 60)`;
    return { ...film, childId: task.id as string, childToken: claimed.fencing_token as string };
  }

  const metric = (film: { movieId: string; childId: string }, stepName: string) => ({
    movieId: film.movieId,
    userId,
    step: "generate_music",
    taskId: film.childId,
    stepName,
    provider: "beatoven",
    model: "maestro",
  });

  async function metricsOf(taskId: string) {
    return await sql`
      select step_name, phase, error_message, finished_at is not null as finished, planned_units::float as planned
        from public.movie_step_metrics where task_id = ${taskId} order by step_name`;
  }

  it("closes the intents no submission was recorded for, and leaves a recorded job to be polled", async () => {
    const film = await heldChild("film.music");
    // "music": the provider refused the submission; "music-2": the engine recorded its job.
    await recordIntent(sql, metric(film, "music"), { units: 5, unit: "tracks" });
    await recordIntent(sql, metric(film, "music-2"), { units: 5, unit: "tracks" });
    await sql`
      insert into public.background_task_steps (task_id, name, status, external_id)
      values (${film.childId}, 'music-2', 'submitted', 'job-2')`;
    await sql`
      select engine.fail_task(${film.childId}, ${film.childToken}::bigint,
        '{"code":"provider_error","message":"beatoven refused the key"}', false)`;
    // Before, both stayed 'intent' for good: a status call counted them in flight for ever.
    expect(await metricsOf(film.childId)).toEqual([
      {
        step_name: "music",
        phase: "failed",
        error_message: "not submitted: beatoven refused the key",
        finished: true,
        planned: 5,
      },
      { step_name: "music-2", phase: "intent", error_message: null, finished: false, planned: 5 },
    ]);
    expect(await notesLeft(film.childId)).toBe(0);

    // The owner resumes: the task runs again, and the step's row is opened again for this attempt.
    await sql`update public.background_tasks set status = 'queued', run_after = now() where id = ${film.childId}`;
    await sql`select engine.claim_task(${film.childId}, 'film-work', 60)`;
    await recordIntent(sql, metric(film, "music"), { units: 5, unit: "tracks" });
    expect((await metricsOf(film.childId))[0]).toEqual({
      step_name: "music",
      phase: "intent",
      error_message: null,
      finished: false,
      planned: 5,
    });
  });

  it("closes them cancelled with a cancelled task, and not while it only retries", async () => {
    const film = await heldChild("film.music");
    await recordIntent(sql, metric(film, "music"), { units: 5, unit: "tracks" });
    await sql`
      select engine.fail_task(${film.childId}, ${film.childToken}::bigint, '{"code":"x","message":"flaky"}', true)`;
    expect(await metricsOf(film.childId)).toEqual([
      { step_name: "music", phase: "intent", error_message: null, finished: false, planned: 5 },
    ]);
    await sql`select engine.cancel_task(${film.childId}, 'cancelled by test')`;
    expect(await metricsOf(film.childId)).toEqual([
      {
        step_name: "music",
        phase: "cancelled",
        error_message: "not submitted: cancelled by test",
        finished: true,
        planned: 5,
      },
    ]);
  });

  it("fails a scene's mix whose task failed before its verdict", async () => {
    const film = await heldChild("film.mix");
    await sql`
      select engine.fail_task(${film.childId}, ${film.childToken}::bigint,
        '{"code":"invalid_provider_request","message":"the render provider refused the mix"}', false)`;
    // Before, the scene read mix_status 'running' for good.
    const [scene] = await sql`
      select mix_status, mix_error from public.movie_scenes where movie_id = ${film.movieId} and scene_number = 1`;
    expect(scene).toEqual({ mix_status: "failed", mix_error: "the render provider refused the mix" });
    expect(await notesLeft(film.childId)).toBe(0);
  });

  it("leaves a mix that ended with its verdict as it is", async () => {
    const film = await heldChild("film.mix");
    await sql`update public.movie_scenes set mix_status = 'completed' where movie_id = ${film.movieId}`;
    await sql`select engine.cancel_task(${film.childId}, 'cancelled by test')`;
    const [scene] = await sql`
      select mix_status, mix_error from public.movie_scenes where movie_id = ${film.movieId} and scene_number = 1`;
    expect(scene).toEqual({ mix_status: "completed", mix_error: null });
  });
});
