/**
 * A film's cancel and resume, by every path, against a film really in production (the offline
 * `local` providers). Each is one transaction whose movie and progress writes follow what it did
 * to the film's task: 20 cancels and 20 resumes at once leave the three agreeing, and the
 * films-in-production limit counts what really runs. A cancel by any path (produce-movie's, the
 * public.cancel_task RPC) enqueues one film.cancel_jobs, from the film's end follower
 * (public.movie_follows_its_task), which cancels the jobs the film already submitted.
 *
 * Each film here is held in production: the user's own `local` music provider has one slot, which
 * a task of the test's holds, so the film's music job, once submitted, stays queued — a job paid
 * for and still open when the film is cancelled — and the film never ends by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initialSteps } from "../../shared/film/film-progress.ts";
import { asUser, connect, createUser, invoke, type Sql, type TestUser, waitFor } from "../support/stack.ts";

let sql: Sql;
const users: TestUser[] = [];

beforeAll(() => {
  sql = connect();
});
afterAll(async () => {
  const ids = users.map((u) => u.id);
  await sql`select engine.cancel_task(id, 'test done') from public.background_tasks
             where user_id = any(${ids}::uuid[]) and parent_id is null and status in ('queued', 'running', 'waiting')`;
  await sql.end();
});

const LIVE = ["queued", "running", "waiting"];

/** A user whose films cannot finish: their music job waits for a slot the test holds. */
async function userWithHeldMusic() {
  const user = await createUser(sql);
  users.push(user);
  const music = await invoke("providers", {
    action: "register",
    providerType: "music",
    provider: "local",
    model: "local",
    concurrencyLimit: 1,
  }, { token: user.token });
  expect(music.status, music.text).toBe(201);
  const [holder] = await sql`
    select id from engine.enqueue_task(p_user_id => ${user.id}, p_kind => 'test.slot_holder', p_function => null,
      p_concurrency_key => ${music.json.provider.concurrencyKey}, p_dispatch => false)`;
  await sql`select engine.claim_task(${holder.id}, 'film-cancel-resume', 3600)`;
  return Object.assign(user, {
    /** Frees the music slot: the film's music job (or its next) can run. */
    releaseMusic: async () => void await sql`select engine.cancel_task(${holder.id}, 'slot released')`,
  });
}

async function startFilm(user: TestUser, title: string) {
  return await invoke("produce-movie", {
    action: "start",
    title,
    prompt: "A lighthouse keeper waits for a ship that never comes",
    genre: "drama",
    durationMinutes: 0.25,
  }, { token: user.token });
}

/** The film's music job, once submitted (recorded on film.music's step) and waiting for its slot. */
async function heldMusicJob(movieId: string) {
  return await waitFor(async () => {
    const [job] = await sql`
      select j.id, j.status from public.background_tasks m
        join public.background_task_steps s on s.task_id = m.id and s.status = 'submitted'
        join public.background_tasks j on j.id = s.external_id::uuid and j.kind = 'local_media'
       where m.kind = 'film.music' and m.payload ->> 'movieId' = ${movieId}`;
    return job as { id: string; status: string } | undefined;
  }, { timeoutMs: 120_000, what: `the music job of movie ${movieId}` });
}

/** The movie, its progress row and its task, read in one snapshot. */
async function filmState(movieId: string) {
  const [state] = await sql`
    select m.status as movie, p.overall_status as progress, t.status as task
      from public.movies m
      join public.movie_creation_progress p on p.movie_id = m.id
      join public.background_tasks t on t.id = m.task_id
     where m.id = ${movieId}`;
  return state as { movie: string; progress: string; task: string };
}

/** What the movie and its progress row say when they agree with a task in this status. */
const agreeingWith = (task: string) =>
  LIVE.includes(task)
    ? { movie: "processing", progress: "running", task }
    : { movie: task, progress: task, task };

const cancelJobsOf = (movieId: string) =>
  sql`select id, status, result from public.background_tasks
       where kind = 'film.cancel_jobs' and payload ->> 'movieId' = ${movieId}`;

describe("a film's cancel and resume", () => {
  it(
    "raced 20 against 20 leave the movie, its progress and its task agreeing, within the films-in-production limit",
    async () => {
      const user = await userWithHeldMusic();
      await sql`select public.set_usage_limits(${user.id},
                '{"films_in_production": 1, "films_per_day": 1000, "resumes_per_task": 1000}')`;
      const started = await startFilm(user, "Race");
      expect(started.status, started.text).toBe(202);
      const { movieId } = started.json;
      await heldMusicJob(movieId);
      const before = await filmState(movieId);
      expect(LIVE).toContain(before.task);
      expect(before).toEqual(agreeingWith(before.task));

      for (let round = 0; round < 3; round++) {
        const answers = await Promise.all(
          Array.from({ length: 20 }, () => [
            invoke("produce-movie", { action: "cancel", movieId }, { token: user.token }),
            invoke("produce-movie", { action: "resume", movieId }, { token: user.token }),
          ]).flat(),
        );
        for (const answer of answers) expect([200, 202, 409], answer.text).toContain(answer.status);
        const state = await filmState(movieId);
        expect(state, `round ${round}`).toEqual(agreeingWith(state.task));
      }

      // The film counts as in production exactly while its task runs: a second film is refused then,
      // admitted once it is cancelled, and never are two in production at once.
      const inProduction = LIVE.includes((await filmState(movieId)).task);
      const second = await startFilm(user, "Second");
      expect(second.status, second.text).toBe(inProduction ? 429 : 202);
      const [{ live }] = await sql`
      select count(*)::int as live from public.background_tasks
       where user_id = ${user.id} and kind = 'film.produce' and status = any(${LIVE})`;
      expect(live).toBe(1);
      const usage = await invoke("produce-movie", { action: "usage" }, { token: user.token });
      expect(usage.json.used.filmsInProduction).toBe(1);
    },
    180_000,
  );

  it(
    "cancelled through the RPC or through produce-movie, enqueues one film.cancel_jobs, which cancels the film's open jobs",
    async () => {
      const user = await userWithHeldMusic();
      const paths: [string, (movieId: string, taskId: string) => Promise<unknown>][] = [
        [
          "public.cancel_task",
          async (_movieId, taskId) =>
            expect((await asUser(sql, user.id, (tx) => tx`select public.cancel_task(${taskId}) as ok`))[0].ok)
              .toBe(true),
        ],
        [
          "produce-movie cancel {taskId}",
          async (_movieId, taskId) => {
            const answer = await invoke("produce-movie", { action: "cancel", taskId }, { token: user.token });
            expect(answer.status, answer.text).toBe(200);
          },
        ],
      ];
      for (const [path, cancel] of paths) {
        const started = await startFilm(user, path);
        expect(started.status, started.text).toBe(202);
        const { movieId, taskId } = started.json;
        const job = await heldMusicJob(movieId);
        expect(job.status, path).toBe("queued");

        await cancel(movieId, taskId);
        expect(await filmState(movieId), path).toEqual(agreeingWith("cancelled"));
        // Enqueued in the cancelling transaction, once.
        expect(await cancelJobsOf(movieId), path).toHaveLength(1);
        const [done] = await waitFor(async () => {
          const rows = await cancelJobsOf(movieId);
          return rows[0]?.status === "succeeded" ? rows : null;
        }, { timeoutMs: 60_000, what: `film.cancel_jobs of ${path}` });
        expect(done.result.cancelled, path).toBeGreaterThanOrEqual(1);
        const [music] = await sql`select status from public.background_tasks where id = ${job.id}`;
        expect(music.status, path).toBe("cancelled");
        const [metric] = await sql`
        select error_message from public.movie_step_metrics
         where movie_id = ${movieId} and external_id = ${job.id}`;
        expect(metric.error_message, path).toMatch(/^cancelled with the film/);
        // None of the film's worker jobs is left open: the rest finished or were cancelled with it.
        await waitFor(async () =>
          (await sql`
        select count(*)::int as n from public.background_tasks
         where user_id = ${user.id} and kind in ('local_media', 'render') and status = any(${LIVE})`)[0].n ===
            0, {
          timeoutMs: 60_000,
          what: `no open worker job after ${path}`,
        });
        expect(await cancelJobsOf(movieId), path).toHaveLength(1);
      }
    },
    300_000,
  );

  it(
    "started again by a script accept mid-production, has the old pipeline's open jobs cancelled at their providers",
    async () => {
      const user = await userWithHeldMusic();
      const started = await startFilm(user, "Reset");
      expect(started.status, started.text).toBe(202);
      const { movieId, taskId } = started.json;
      const job = await heldMusicJob(movieId);
      expect(job.status).toBe("queued");
      const [before] = await sql`select status, last_error from public.background_tasks where id = ${taskId}`;
      expect(LIVE, JSON.stringify(before)).toContain(before.status);

      // What regenerate-asset's script accept runs (shared/assets/accept/accept-script.ts).
      const [{ task_id: newTask }] = await sql`
      select asset_admin.reset_film(${movieId}, ${user.id}, null, ${
        sql.json(initialSteps())
      }, null) as task_id`;
      const [old] = await sql`select status from public.background_tasks where id = ${taskId}`;
      expect(old.status).toBe("cancelled");
      // Enqueued by the reset, once (the film's end follower finds no film for the old task).
      expect(await cancelJobsOf(movieId)).toHaveLength(1);
      const [done] = await waitFor(async () => {
        const rows = await cancelJobsOf(movieId);
        return rows[0]?.status === "succeeded" ? rows : null;
      }, { timeoutMs: 60_000, what: "film.cancel_jobs after the reset" });
      expect(done.result.cancelled, JSON.stringify(done.result)).toBeGreaterThanOrEqual(1);
      const [music] = await sql`select status from public.background_tasks where id = ${job.id}`;
      expect(music.status).toBe("cancelled");
      const [metric] = await sql`
      select error_message from public.movie_step_metrics where movie_id = ${movieId} and external_id = ${job.id}`;
      expect(metric.error_message).toMatch(/^cancelled with the film/);
      // The film goes on with its new pipeline, whose tasks the cancel left alone.
      const [movie] = await sql`select m.task_id, t.status from public.movies m
                               join public.background_tasks t on t.id = m.task_id where m.id = ${movieId}`;
      expect(movie.task_id).toBe(newTask);
      expect(LIVE).toContain(movie.status);
    },
    180_000,
  );

  it(
    "resumed after film.cancel_jobs cancelled its music job, pays for a new one and completes with music",
    async () => {
      const user = await userWithHeldMusic();
      const started = await startFilm(user, "Second take");
      expect(started.status, started.text).toBe(202);
      const { movieId } = started.json;
      const job = await heldMusicJob(movieId);
      const cancel = await invoke("produce-movie", { action: "cancel", movieId }, { token: user.token });
      expect(cancel.status, cancel.text).toBe(200);
      await waitFor(async () => (await cancelJobsOf(movieId))[0]?.status === "succeeded", {
        timeoutMs: 60_000,
        what: "film.cancel_jobs",
      });
      const [cancelled] = await sql`select status from public.background_tasks where id = ${job.id}`;
      expect(cancelled.status).toBe("cancelled");

      await user.releaseMusic();
      const resumed = await invoke("produce-movie", { action: "resume", movieId }, { token: user.token });
      expect(resumed.status, resumed.text).toBe(202);
      const movie = await waitFor(async () => {
        const [row] = await sql`select status, metadata from public.movies where id = ${movieId}`;
        return ["completed", "failed", "cancelled"].includes(row.status) ? row : null;
      }, { timeoutMs: 240_000, what: `movie ${movieId} to end after its resume` });
      const metrics = await sql`
        select m.step_name, m.phase, m.external_id from public.movie_step_metrics m
          join public.background_tasks t on t.id = m.task_id
         where m.movie_id = ${movieId} and t.kind = 'film.music' order by m.started_at`;
      // Before, the resumed music task polled the cancelled job: "No music", the film without it.
      expect(movie.status, JSON.stringify(metrics)).toBe("completed");
      expect(movie.metadata.music_url, JSON.stringify(metrics)).toEqual(expect.any(String));
      // The cancelled job keeps its row, set aside under its own name; the new job has the step's.
      expect(metrics).toEqual([
        { step_name: `music#${job.id}`, phase: "cancelled", external_id: job.id },
        { step_name: "music", phase: "succeeded", external_id: expect.any(String) },
      ]);
      expect(metrics[1].external_id).not.toBe(job.id);
    },
    300_000,
  );

  it("cancelled and resumed through the RPCs, says so in its movie and progress rows together", async () => {
    const user = await userWithHeldMusic();
    const started = await startFilm(user, "RPC");
    expect(started.status, started.text).toBe(202);
    const { movieId, taskId } = started.json;
    await heldMusicJob(movieId);
    await asUser(sql, user.id, (tx) => tx`select public.cancel_task(${taskId})`);
    expect(await filmState(movieId)).toEqual(agreeingWith("cancelled"));
    await asUser(sql, user.id, (tx) => tx`select public.resume_task(${taskId})`);
    const state = await filmState(movieId);
    expect(LIVE).toContain(state.task);
    expect(state).toEqual(agreeingWith(state.task));
  }, 180_000);

  it(
    "is not resumed beside a scene its owner started while it was cancelled: 409, nothing paid twice",
    async () => {
      const user = await userWithHeldMusic();
      const started = await startFilm(user, "Beside");
      expect(started.status, started.text).toBe(202);
      const { movieId } = started.json;
      await heldMusicJob(movieId);
      const cancel = await invoke("produce-movie", { action: "cancel", movieId }, { token: user.token });
      expect(cancel.status, cancel.text).toBe(200);
      // A scene's clip started on its own while the film was cancelled (generate-scene-video start),
      // held open: due in an hour, so nothing rings it meanwhile.
      const [scene] = await sql`
      select id from engine.enqueue_task(p_user_id => ${user.id}, p_kind => 'film.chain',
        p_function => 'generate-scene-video', p_payload => ${sql.json({ movieId, scenes: [1] })},
        p_run_after => now() + interval '1 hour', p_dispatch => false)`;
      // Before, the resume went through, and the film's chain and the scene's both paid for scene 1.
      for (const resume of ["produce-movie", "rpc"] as const) {
        const refused = resume === "produce-movie"
          ? await invoke("produce-movie", { action: "resume", movieId }, { token: user.token })
          : await asUser(sql, user.id, (tx) => tx`select public.resume_task(${started.json.taskId})`).then(
            () => ({ status: 200, text: "resumed", json: {} as Record<string, unknown> }),
            (error: Error) => ({ status: 409, text: error.message, json: { error: { code: "raised" } } }),
          );
        expect(refused.status, refused.text).toBe(409);
        expect(refused.text).toContain(`film.chain task ${scene.id} open`);
        expect(await filmState(movieId)).toEqual(agreeingWith("cancelled"));
      }
      await sql`select engine.cancel_task(${scene.id}, 'test')`;
      const resumed = await invoke("produce-movie", { action: "resume", movieId }, { token: user.token });
      expect(resumed.status, resumed.text).toBe(202);
    },
    180_000,
  );
});
