/**
 * One pipeline per film: a script accept starts a film again with a new produce task
 * (asset_admin.reset_film), which stops the one still open, and the owner cannot resume the old
 * one, which would run a second pipeline on the same film and pay for every step twice. Nor is
 * another preview of the script left to accept: it goes with the old film. Nor does a take
 * accepted into an idle film meet a pipeline: a resume waits for the accept and refuses while its
 * apply runs, and an accept waits for a resume and refuses once the film is in production.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  connect,
  connectAsAdmin,
  createUser,
  invoke,
  type Sql,
  type TestUser,
  waitFor,
} from "../support/stack.ts";

let sql: Sql;
let su: Sql;
/** Connections of their own for the accept and the resume raced in one case. */
let reset: Sql;
let resumer: Sql;
let owner: TestUser;

beforeAll(async () => {
  sql = connect();
  su = connectAsAdmin(2);
  reset = connect(1);
  resumer = connect(1);
  owner = await createUser(sql);
});
afterAll(async () => {
  await Promise.all([sql.end(), su.end(), reset.end(), resumer.end()]);
});

/** A film row with an open produce task nobody runs (no doorbell). */
async function filmWithTask(db: Sql, status: string) {
  const [{ id: movieId }] = await db`
    insert into public.movies (user_id, title, prompt, genre, duration_minutes, status)
    values (${owner.id}, 'Restarted', 'a prompt', 'drama', 1, ${status}) returning id`;
  await db`insert into public.movie_creation_progress (movie_id, user_id) values (${movieId}, ${owner.id})`;
  const taskId = await produceTask(db, movieId);
  await db`update public.movies set task_id = ${taskId} where id = ${movieId}`;
  return { movieId: movieId as string, taskId };
}

async function produceTask(db: Sql, movieId: string): Promise<string> {
  const [{ id }] = await db`
    select (engine.enqueue_task(p_user_id => ${owner.id}, p_kind => 'film.produce', p_function => 'produce-movie',
                                p_payload => ${db.json({ movieId })}, p_dispatch => false)).id as id`;
  return id;
}

describe("a film started again by a script accept", () => {
  it("stops the produce task still open and the regenerations making previews, and the film follows only its new task", async () => {
    await su.begin(async (tx) => {
      const { movieId, taskId } = await filmWithTask(tx as unknown as Sql, "processing");
      // A regeneration still making its preview on the old film: its task stops with it.
      const [{ id: runId }] = await tx`
        insert into public.asset_runs (user_id, movie_id, slot, kind, target)
        values (${owner.id}, ${movieId}, 'video:1', 'video', ${
        tx.json({ movieId, sceneNumber: 1 })
      }) returning id`;
      const [{ id: runTask }] = await tx`
        select (engine.enqueue_task(p_user_id => ${owner.id}, p_kind => 'asset.regenerate',
                                    p_function => 'regenerate-asset', p_payload => ${tx.json({ runId })},
                                    p_dispatch => false)).id as id`;
      await tx`update public.asset_runs set task_id = ${runTask} where id = ${runId}`;
      // Other work still open on the film: an accepted clip's apply and a scene's regeneration
      // stop with it; a task of another film goes on.
      const openWork = async (kind: string, payload: Record<string, unknown>) =>
        (await tx`
          select (engine.enqueue_task(p_user_id => ${owner.id}, p_kind => ${kind}, p_function => 'regenerate-asset',
                                      p_payload => ${
          tx.json(payload as never)
        }, p_dispatch => false)).id as id`)[0]
          .id as string;
      const apply = await openWork("asset.apply", { movieId, runId, sceneNumber: 1 });
      const chain = await openWork("film.chain", { movieId, sceneNumber: 1 });
      const otherFilm = await openWork("film.chain", { movieId: crypto.randomUUID(), sceneNumber: 1 });
      const [{ reset_film: newTask }] = await tx`
        select asset_admin.reset_film(${movieId}, ${owner.id}, null, '[]'::jsonb, null)`;
      // The film's end-follower is deferred to commit: run it now, as commit would.
      await tx`set constraints all immediate`;
      const tasks = await tx`select id, status from public.background_tasks
                              where id in (${taskId}, ${newTask}, ${apply}, ${chain}, ${otherFilm})`;
      expect(Object.fromEntries(tasks.map((t) => [t.id, t.status]))).toEqual({
        [taskId]: "cancelled",
        [newTask]: "queued",
        [apply]: "cancelled",
        [chain]: "cancelled",
        [otherFilm]: "queued",
      });
      const [run] = await tx`
        select r.status, t.status as task_status from public.asset_runs r
          join public.background_tasks t on t.id = r.task_id where r.id = ${runId}`;
      expect(run).toEqual({ status: "failed", task_status: "cancelled" });
      const [movie] = await tx`select status, task_id from public.movies where id = ${movieId}`;
      expect(movie).toEqual({ status: "pending", task_id: newTask });
      // The jobs the stopped tasks paid for are cancelled at their providers: one film.cancel_jobs.
      const cancelJobs = await tx`
        select idempotency_key from public.background_tasks
         where kind = 'film.cancel_jobs' and payload ->> 'movieId' = ${movieId}`;
      expect(cancelJobs).toEqual([{ idempotency_key: `cancel-jobs:${movieId}:reset:${newTask}` }]);
      // Rolled back: the new task's doorbell must not start a pipeline for this made-up film.
      throw new RolledBack();
    }).catch((error) => {
      if (!(error instanceof RolledBack)) throw error;
    });
  });

  it("refuses a resume of the old produce task that raced the script accept: it waits for the accept, then finds the film gone", async () => {
    const { movieId, taskId: oldTask } = await filmWithTask(su, "cancelled");
    await su`select engine.cancel_task(${oldTask}, 'test')`;
    const accepted = deferred();
    const release = deferred();
    // The accept's transaction (asset_admin.reset_film), held open while the resume arrives.
    const accept = reset.begin(async (tx) => {
      const [{ reset_film: newTask }] = await tx`
        select asset_admin.reset_film(${movieId}, ${owner.id}, null, '[]'::jsonb, null)`;
      // No pipeline for this made-up film: its new task ends with the test.
      await tx`select engine.cancel_task(${newTask}, 'test')`;
      accepted.resolve();
      await release.promise;
      return newTask as string;
    });
    await accepted.promise;
    const resume = resumer`select engine.resume_by_owner(${oldTask}) as task`.then(
      () => null,
      (error) => error as { code?: string; message: string },
    );
    // The resume waits for the accept's locks on the film...
    await waitFor(async () =>
      (await su`select 1 from pg_stat_activity
                 where wait_event_type = 'Lock' and query like '%resume_by_owner%'`).length > 0, {
      timeoutMs: 10_000,
      what: "the resume to wait for the accept",
    });
    release.resolve();
    const newTask = await accept;
    // ... and once the accept commits, finds that the film follows another task now.
    const refused = await resume;
    expect(refused?.code, refused?.message).toBe("RF008");
    const [old] = await su`select status, resumes from public.background_tasks where id = ${oldTask}`;
    expect(old).toEqual({ status: "cancelled", resumes: 0 });
    const [movie] = await su`select task_id from public.movies where id = ${movieId}`;
    expect(movie.task_id).toBe(newTask);
  });

  it("refuses to resume the film's old produce task with 409, charging and changing nothing", async () => {
    const { movieId, taskId: oldTask } = await filmWithTask(su, "cancelled");
    await su`select engine.cancel_task(${oldTask}, 'test')`;
    const newTask = await produceTask(su, movieId);
    await su`select engine.cancel_task(${newTask}, 'test')`;
    await su`update public.movies set task_id = ${newTask} where id = ${movieId}`;
    const usage = async () =>
      (await su`select count(*)::int as n from public.usage_events where user_id = ${owner.id}`)[0].n;
    const before = await usage();
    const response = await invoke("produce-movie", { action: "resume", taskId: oldTask }, {
      token: owner.token,
    });
    expect(response.status, response.text).toBe(409);
    expect(response.json.error.code).toBe("task_not_resumable");
    expect(response.json.error.message).toContain("resume the film");
    const [old] = await su`select status, resumes from public.background_tasks where id = ${oldTask}`;
    expect(old).toEqual({ status: "cancelled", resumes: 0 });
    expect(await usage()).toBe(before);
  });

  it("leaves no sibling script preview acceptable: it goes with the old film, and accepting it is 409 changing nothing", async () => {
    const { movieId } = await filmWithTask(su, "completed");
    const regenerate = (body: Record<string, unknown>) =>
      invoke("regenerate-asset", body, { token: owner.token });
    const preview = async (prompt: string) => {
      const started = await regenerate({
        action: "start",
        kind: "script",
        target: { movieId },
        draft: { prompt },
      });
      expect(started.status, started.text).toBe(202);
      return started.json.runId as string;
    };
    const chosen = await preview("A keeper and a lighthouse that answers");
    const sibling = await preview("A keeper and a sea that answers");
    const accepted = await regenerate({ action: "accept", runId: chosen });
    try {
      expect(accepted.status, accepted.text).toBe(200);
    } finally {
      // The accept started a pipeline on this made-up film: stop it.
      await invoke("produce-movie", { action: "cancel", movieId }, { token: owner.token });
    }
    const status = await regenerate({ action: "status", runId: sibling });
    expect(status.status, status.text).toBe(200);
    expect(status.json.run.status).toBe("failed");
    expect(status.json.preview.state).toBe("superseded");
    const [{ previews }] =
      await su`select count(*)::int as previews from public.assets where movie_id = ${movieId} and state = 'preview'`;
    expect(previews).toBe(0);

    const slot = `movie:${movieId}:script`;
    const snapshot = async () => ({
      assets: await su`select id, state, version from public.assets where slot = ${slot} order by version`,
      runs:
        await su`select id, status, decided_at from public.asset_runs where slot = ${slot} order by created_at`,
      movie: (await su`select prompt, task_id from public.movies where id = ${movieId}`)[0],
      usage: (await su`select count(*)::int as n from public.usage_events where user_id = ${owner.id}`)[0].n,
    });
    const before = await snapshot();
    const again = await regenerate({ action: "accept", runId: sibling });
    expect(again.status, again.text).toBe(409);
    expect(again.json.error.code).toBe("asset_run_not_preview");
    expect(await snapshot()).toEqual(before);
  });
});

class RolledBack extends Error {}

/** A promise and its resolve (Node 20 has no Promise.withResolvers). */
describe("a take accepted into a film, and a resume of the film", () => {
  /** A film made up in the database whose produce task ended as given, and an open asset.apply on it. */
  async function filmBeingEdited(ended: "cancelled" | "succeeded") {
    const film = await filmWithTask(su, ended === "cancelled" ? "cancelled" : "completed");
    if (ended === "cancelled") await su`select engine.cancel_task(${film.taskId}, 'test')`;
    else {
      const [{ fencing_token }] =
        await su`select fencing_token from engine.claim_task(${film.taskId}, 't', 60)`;
      await su`select engine.complete_task(${film.taskId}, ${fencing_token}::bigint, '{}')`;
    }
    // No function: no doorbell, and no sweep rings it either; it stays open for the test.
    const [{ id: applyId }] = await su`
      select (engine.enqueue_task(p_user_id => ${owner.id}, p_kind => 'asset.apply', p_function => null,
                                  p_payload => ${
      su.json({ movieId: film.movieId, runId: crypto.randomUUID() })
    },
                                  p_dispatch => false)).id as id`;
    return { ...film, applyId: applyId as string };
  }
  const usage = async () =>
    (await su`select count(*)::int as n from public.usage_events where user_id = ${owner.id}`)[0].n;
  /** A cover run of the film with its preview made, as a cover take leaves it (nothing rendered). */
  async function coverPreview(movieId: string): Promise<string> {
    const slot = `movie:${movieId}:cover`;
    const [asset] = await su`
      insert into public.assets (user_id, movie_id, slot, kind, version, state, public_url)
      values (${owner.id}, ${movieId}, ${slot}, 'cover', 1, 'preview', 'https://example.test/cover.png') returning id`;
    const [run] = await su`
      insert into public.asset_runs (user_id, movie_id, slot, kind, target, status, preview_asset_id)
      values (${owner.id}, ${movieId}, ${slot}, 'cover', ${
      su.json({ movieId })
    }, 'preview', ${asset.id}) returning id`;
    return run.id;
  }

  for (const ended of ["cancelled", "succeeded"] as const) {
    it(`refuses a resume of a ${ended} film while a take accepted into it is applied: 409, nothing charged or changed`, async () => {
      const film = await filmBeingEdited(ended);
      const before = await usage();
      const response = await invoke("produce-movie", { action: "resume", movieId: film.movieId }, {
        token: owner.token,
      });
      // Before, the cancelled film went back into production beside the apply (the apply's cascade
      // then accepted new clips into the film in production, the pipeline replaced them); a
      // finished one answered that nothing had failed.
      expect(response.status, response.text).toBe(409);
      expect(response.json.error).toMatchObject({
        code: "film_being_edited",
        message: expect.stringContaining(`task ${film.applyId}`),
      });
      const [movie] = await su`select status, task_id from public.movies where id = ${film.movieId}`;
      expect(movie).toEqual({
        status: ended === "cancelled" ? "cancelled" : "completed",
        task_id: film.taskId,
      });
      const [task] = await su`select status, resumes from public.background_tasks where id = ${film.taskId}`;
      expect(task).toEqual({ status: ended, resumes: 0 });
      expect(await usage()).toBe(before);
      await su`select engine.cancel_task(${film.applyId}, 'test')`;
    });
  }

  it("refuses a scene's regeneration, started or resumed, while a take accepted into its film is applied", async () => {
    const film = await filmBeingEdited("succeeded");
    await su`
      insert into public.movie_scenes (movie_id, user_id, scene_number, scene_id, location_name, location_slug,
                                       time_of_day, weather, duration_seconds, status, video_url)
      values (${film.movieId}, ${owner.id}, 1, 's1', 'Pier', 'pier', 'day', 'clear', 5, 'completed', 'https://films.example/1.mp4')`;
    const tasks = async () =>
      (await su`select count(*)::int as n from public.background_tasks where user_id = ${owner.id}`)[0].n;
    const before = { usage: await usage(), tasks: await tasks() };
    // Before, both wrote the scene beside the apply (the chain failed the scene the apply then
    // rejoined; the mix found no clip after paying for its render).
    for (const fn of ["generate-scene-video", "generate-audio"]) {
      const started = await invoke(fn, { action: "start", movieId: film.movieId, sceneNumber: 1 }, {
        token: owner.token,
      });
      expect(started.status, started.text).toBe(409);
      expect(started.json.error.code).toBe("film_being_edited");
    }
    expect({ usage: await usage(), tasks: await tasks() }).toEqual(before);
    // A failed regeneration of the scene, resumed: refused the same way (engine.resume_by_owner).
    const [{ id: chain }] = await su`
      select (engine.enqueue_task(p_user_id => ${owner.id}, p_kind => 'film.chain', p_function => null,
                                  p_payload => ${su.json({ movieId: film.movieId, scenes: [1] })},
                                  p_dispatch => false)).id as id`;
    const [{ fencing_token }] = await su`select fencing_token from engine.claim_task(${chain}, 't', 60)`;
    await su`select engine.fail_task(${chain}, ${fencing_token}::bigint, '{"code":"x","message":"broke"}', false)`;
    const resumed = await resumer`select engine.resume_by_owner(${chain})`.then(
      () => null,
      (error) => error as { code?: string; message: string },
    );
    expect(resumed?.code, resumed?.message).toBe("RF018");
    await su`select engine.cancel_task(${film.applyId}, 'test')`;
  });

  it("refuses an accept while the owner's own regeneration of a scene of the film runs, its mix included", async () => {
    const { movieId } = await filmWithTask(su, "completed");
    const run = await coverPreview(movieId);
    // A scene's clip regenerated on its own (generate-scene-video), then the mix it ends with; no
    // function, so nothing runs them.
    const regenerations = [
      { kind: "film.chain", payload: { movieId, scenes: [1] } },
      { kind: "film.mix", payload: { movieId, sceneNumber: 1 } },
    ];
    for (const { kind, payload } of regenerations) {
      const [{ id }] = await su`
        select (engine.enqueue_task(p_user_id => ${owner.id}, p_kind => ${kind}, p_function => null,
                                    p_payload => ${su.json(payload)}, p_dispatch => false)).id as id`;
      const refused = await invoke("regenerate-asset", { action: "accept", runId: run }, {
        token: owner.token,
      });
      // Before, the take was accepted and its apply ran beside the scene's regeneration.
      expect(refused.status, refused.text).toBe(409);
      expect(refused.json.error).toMatchObject({
        code: "regeneration_in_progress",
        message: expect.stringContaining(`${kind} task ${id}`),
      });
      const [after] = await su`select status from public.asset_runs where id = ${run}`;
      expect(after.status).toBe("preview");
      await su`select engine.cancel_task(${id}, 'test')`;
    }
    const accepted = await invoke("regenerate-asset", { action: "accept", runId: run }, {
      token: owner.token,
    });
    expect(accepted.status, accepted.text).toBe(200);
  });

  it("an accept that waited for a resume committing finds the film in production: 409, nothing accepted", async () => {
    const { movieId } = await filmWithTask(su, "cancelled");
    const run = { id: await coverPreview(movieId) };
    const resumed = deferred();
    const release = deferred();
    // A resume's transaction (engine.resume_by_owner's locks and writes), held open while the accept arrives.
    const resume = resumer.begin(async (tx) => {
      await tx`select from public.movie_creation_progress where movie_id = ${movieId} for update`;
      await tx`update public.movies set status = 'processing' where id = ${movieId}`;
      resumed.resolve();
      await release.promise;
    });
    await resumed.promise;
    let settled = false;
    const accept = invoke("regenerate-asset", { action: "accept", runId: run.id }, { token: owner.token })
      .finally(() => (settled = true));
    // Before, the accept read the film as it was before the resume (not in production) and went on.
    await waitFor(async () =>
      settled ||
      (await su`select 1 from pg_stat_activity
                 where wait_event_type = 'Lock' and backend_type = 'client backend'
                   and application_name = 'fn:regenerate-asset'`).length > 0, {
      timeoutMs: 10_000,
      what: "the accept to wait for the resume",
    });
    release.resolve();
    await resume;
    const response = await accept;
    expect(response.status, response.text).toBe(409);
    expect(response.json.error.code).toBe("movie_in_production");
    const [after] = await su`
      select r.status, a.state, m.poster_url from public.asset_runs r
        join public.assets a on a.id = r.preview_asset_id join public.movies m on m.id = r.movie_id
       where r.id = ${run.id}`;
    expect(after).toEqual({ status: "preview", state: "preview", poster_url: null });
  });
});

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
