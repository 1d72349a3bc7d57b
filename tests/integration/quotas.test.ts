import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type postgres from "postgres";
import {
  asUser,
  authRequest,
  connect,
  createOperatorUser,
  createUser,
  invoke,
  type Sql,
  stackEnv,
  type TestUser,
} from "../support/stack.ts";

let sql: Sql;
const started: { movieId: string; token: string }[] = [];

beforeAll(() => {
  sql = connect();
});
afterAll(async () => {
  // Films started here stop at once: the quota is what is under test, not the pipeline.
  for (const { movieId, token } of started) {
    await invoke("produce-movie", { action: "cancel", movieId }, { token });
  }
  await sql.end();
});

const brief = { title: "Quota", prompt: "A keeper counts the ships", genre: "drama", durationMinutes: 0.25 };

/** produce-movie start with the response headers too (Retry-After). */
async function startFilm(user: TestUser) {
  const response = await fetch(`${stackEnv().API_URL}/functions/v1/produce-movie`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${user.token}` },
    body: JSON.stringify({ action: "start", ...brief }),
  });
  const json = await response.json();
  if (response.status === 202) started.push({ movieId: json.movieId, token: user.token });
  return { status: response.status, json, retryAfter: response.headers.get("retry-after") };
}

/** What a start could create: movies, the top-level tasks starts enqueue, usage events (a film in
 * production keeps adding its own child tasks meanwhile, so those are not counted). */
const counts = async (userId: string) =>
  (await sql`
  select (select count(*) from public.movies where user_id = ${userId})::int as movies,
         (select count(*) from public.background_tasks where user_id = ${userId} and parent_id is null
             and kind in ('film.produce', 'film.chain', 'film.voices', 'film.assemble', 'asset.regenerate'))::int as tasks,
         (select count(*) from public.usage_events where user_id = ${userId})::int as events`)[0];

async function setLimits(userId: string | null, limits: Record<string, number | null>) {
  await sql`select public.set_usage_limits(${userId}, ${sql.json(limits)})`;
}

/** A finished film with one scene and its video, to aim single-scene actions and assemble at without producing one. */
async function finishedFilm(userId: string, status = "completed") {
  const [{ id }] = await sql`
    insert into public.movies (user_id, title, prompt, genre, duration_minutes, status)
    values (${userId}, 'Done', 'a prompt', 'drama', 1, ${status}) returning id`;
  await sql`
    insert into public.movie_scenes (movie_id, user_id, scene_number, scene_id, location_name, location_slug, time_of_day, weather, duration_seconds, status, video_url)
    values (${id}, ${userId}, 1, 'scene-1', 'Harbour', 'harbour', 'day', 'clear', 5, 'completed', 'https://films.example/scene-1.mp4')`;
  return id as string;
}

describe("films in production at once", () => {
  it("refuses the third concurrent film with 429 quota_exceeded and creates nothing", async () => {
    const user = await createUser(sql);
    expect((await startFilm(user)).status).toBe(202);
    expect((await startFilm(user)).status).toBe(202);
    const before = await counts(user.id);
    const third = await startFilm(user);
    expect(third.status).toBe(429);
    expect(third.json.error).toMatchObject({
      code: "quota_exceeded",
      limit: "filmsInProduction",
      used: 2,
      max: 2,
      resetsAt: null,
    });
    expect(third.json.error.message).toMatch(/2 films in production/);
    expect(await counts(user.id)).toEqual(before);
  });

  it("admits exactly two of six parallel starts", async () => {
    const user = await createUser(sql);
    const answers = await Promise.all(Array.from({ length: 6 }, () => startFilm(user)));
    expect(answers.map((a) => a.status).sort()).toEqual([202, 202, 429, 429, 429, 429]);
    const [{ movies, produce }] = await sql`
      select (select count(*) from public.movies where user_id = ${user.id})::int as movies,
             (select count(*) from public.background_tasks where user_id = ${user.id} and kind = 'film.produce')::int as produce`;
    expect({ movies, produce }).toEqual({ movies: 2, produce: 2 });
  });

  it("lets a film start again once one in production is cancelled", async () => {
    const user = await createUser(sql);
    await setLimits(user.id, { films_in_production: 1 });
    const first = await startFilm(user);
    expect((await startFilm(user)).status).toBe(429);
    expect(
      (await invoke("produce-movie", { action: "cancel", movieId: first.json.movieId }, {
        token: user.token,
      })).status,
    ).toBe(200);
    expect((await startFilm(user)).status).toBe(202);
  });

  it("lets an operator raise one user's limit", async () => {
    const user = await createUser(sql);
    await startFilm(user);
    await startFilm(user);
    expect((await startFilm(user)).status).toBe(429);
    // An operator's own session, as PostgREST runs it: a verified JWT whose app_metadata says so
    // (only the server writes it), of a user whose stored app_metadata says so too.
    const operator = await createOperatorUser();
    const asOperator = (limits: Record<string, number>) =>
      sql.begin(async (tx) => {
        const claims = {
          sub: operator.id,
          role: "authenticated",
          app_metadata: { reelforge_role: "operator" },
        };
        await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
        await tx`set local role authenticated`;
        await tx`select public.set_usage_limits(${user.id}, ${tx.json(limits)})`;
      });
    await asOperator({ films_in_production: 3 });
    expect((await startFilm(user)).status).toBe(202);
    // Demoted: the same token's claims no longer set anything (before, they did until it expired).
    await authRequest(`admin/users/${operator.id}`, { app_metadata: { reelforge_role: null } }, {
      method: "PUT",
      token: stackEnv().SERVICE_ROLE_KEY,
    });
    await expect(asOperator({ films_in_production: 9 })).rejects.toMatchObject({ code: "42501" });
    const usage = await invoke("produce-movie", { action: "usage" }, { token: user.token });
    expect(usage.status).toBe(200);
    expect(usage.json.limits).toMatchObject({
      filmsInProduction: 3,
      filmsPerDay: 20,
      regenerationsPerDay: 200,
    });
    expect(usage.json.used).toMatchObject({ filmsInProduction: 3, filmsPerDay: 3 });
  });
});

describe("per-day limits", () => {
  it("refuses a film over the per-day limit, saying when the next one frees up", async () => {
    const user = await createUser(sql);
    await setLimits(user.id, { films_per_day: 1 });
    const first = await startFilm(user);
    expect(first.status).toBe(202);
    await invoke("produce-movie", { action: "cancel", movieId: first.json.movieId }, { token: user.token });
    const before = await counts(user.id);
    const second = await startFilm(user);
    expect(second.status).toBe(429);
    expect(second.json.error).toMatchObject({
      code: "quota_exceeded",
      limit: "filmsPerDay",
      used: 1,
      max: 1,
    });
    const [{ at }] =
      await sql`select created_at + interval '1 day' as at from public.usage_events where user_id = ${user.id}`;
    expect(new Date(second.json.error.resetsAt).getTime()).toBe(new Date(at).getTime());
    expect(Number(second.retryAfter)).toBeGreaterThan(23 * 3600);
    expect(await counts(user.id)).toEqual(before);
  });

  it("refuses a regeneration over the per-day limit: single-scene actions count, nothing enqueued", async () => {
    const user = await createUser(sql);
    await setLimits(user.id, { regenerations_per_day: 1 });
    const movieId = await finishedFilm(user.id);
    const first = await invoke("assemble", { action: "start", movieId }, { token: user.token });
    expect(first.status, first.text).toBe(202);
    await invoke("assemble", { action: "cancel", taskId: first.json.taskId }, { token: user.token });
    const before = await counts(user.id);
    for (
      const [fn, body] of [["generate-scene-video", { movieId, sceneNumber: 1 }], ["generate-audio", {
        movieId,
        sceneNumber: 1,
      }], ["assemble", { movieId }]] as const
    ) {
      const refused = await invoke(fn, { action: "start", ...body }, { token: user.token });
      expect(refused.status, `${fn}: ${refused.text}`).toBe(429);
      expect(refused.json.error).toMatchObject({
        code: "quota_exceeded",
        limit: "regenerationsPerDay",
        used: 1,
        max: 1,
      });
    }
    const asset = await invoke("regenerate-asset", { action: "start", kind: "cover", target: { movieId } }, {
      token: user.token,
    });
    expect(asset.status, asset.text).toBe(429);
    expect(await counts(user.id)).toEqual(before);
    expect(await sql`select 1 from public.asset_runs where user_id = ${user.id}`).toHaveLength(0);
  });

  it("refuses work once the day's cost units on project providers are spent, not on the user's own", async () => {
    const user = await createUser(sql);
    await setLimits(user.id, { cost_units_per_day: 10 });
    const movieId = await finishedFilm(user.id);
    const taskId = crypto.randomUUID();
    // 8 s of video on a project default (8 units) and 30 s on the user's own key (free to us).
    await sql`insert into public.api_providers (user_id, provider_type, provider, model) values (${user.id}, 'music', 'beatoven', 'maestro')`;
    await sql`
      insert into public.movie_step_metrics (movie_id, user_id, step, task_id, step_name, provider, model, phase, cost_units, cost_unit)
      values (${movieId}, ${user.id}, 'generate_videos', ${taskId}, 'v1', 'runway', 'gen4.5', 'succeeded', 8, 'seconds'),
             (${movieId}, ${user.id}, 'generate_music', ${taskId}, 'm1', 'beatoven', 'maestro', 'succeeded', 30, 'seconds')`;
    const first = await invoke("assemble", { action: "start", movieId }, { token: user.token });
    expect(first.status, first.text).toBe(202);
    await invoke("assemble", { action: "cancel", taskId: first.json.taskId }, { token: user.token });
    await sql`
      insert into public.movie_step_metrics (movie_id, user_id, step, task_id, step_name, provider, model, phase, cost_units, cost_unit)
      values (${movieId}, ${user.id}, 'generate_cover', ${taskId}, 'c1', 'fal', 'flux', 'succeeded', 1, 'images')`;
    const refused = await invoke("assemble", { action: "start", movieId }, { token: user.token });
    expect(refused.status).toBe(429);
    expect(refused.json.error).toMatchObject({ limit: "costUnitsPerDay", used: 10, max: 10 });
  });
  it("counts a paid job still running at the units it was admitted with", async () => {
    const user = await createUser(sql);
    await setLimits(user.id, { cost_units_per_day: 10 });
    const movieId = await finishedFilm(user.id);
    const taskId = crypto.randomUUID();
    // Two music jobs on the project's key: one submitted and still running (its units are known
    // only when it ends), one that failed without a cost.
    await sql`
      insert into public.movie_step_metrics (movie_id, user_id, step, task_id, step_name, provider, model, phase, planned_units, cost_unit, external_id, finished_at, cost_units)
      values (${movieId}, ${user.id}, 'regenerate_music', ${taskId}, 'm1', 'beatoven', 'maestro', 'submitted', 6, 'seconds', 'job-1', null, null),
             (${movieId}, ${user.id}, 'regenerate_music', ${taskId}, 'm2', 'beatoven', 'maestro', 'failed', 50, 'seconds', null, now(), null)`;
    const usage = async () =>
      (await sql`select engine.usage_report(${user.id}) as r`)[0].r.used.costUnitsPerDay;
    expect(await usage()).toBe(6);
    const first = await invoke("assemble", { action: "start", movieId }, { token: user.token });
    expect(first.status, first.text).toBe(202);
    await invoke("assemble", { action: "cancel", taskId: first.json.taskId }, { token: user.token });
    // Another one running: 6 + 4 seconds in flight is the day's 10. Before, both counted 0 until
    // they ended, and every start meanwhile was admitted.
    await sql`
      insert into public.movie_step_metrics (movie_id, user_id, step, task_id, step_name, provider, model, phase, planned_units, cost_unit)
      values (${movieId}, ${user.id}, 'regenerate_music', ${taskId}, 'm3', 'beatoven', 'maestro', 'intent', 4, 'seconds')`;
    const refused = await invoke("assemble", { action: "start", movieId }, { token: user.token });
    expect(refused.status, refused.text).toBe(429);
    expect(refused.json.error).toMatchObject({ limit: "costUnitsPerDay", used: 10, max: 10 });
    // Frees up when the oldest job counted leaves the window.
    const [oldest] =
      await sql`select started_at from public.movie_step_metrics where task_id = ${taskId} and step_name = 'm1'`;
    expect(Date.parse(refused.json.error.resetsAt)).toBe(oldest.started_at.getTime() + 86_400_000);
    // Ended, a job counts what it cost, not what was expected.
    await sql`update public.movie_step_metrics set phase = 'succeeded', cost_units = 2, finished_at = now() where task_id = ${taskId} and step_name = 'm1'`;
    expect(await usage()).toBe(6);
  });
});

describe("who may read and write the limits", () => {
  it("lets a user read their own limits and the defaults, never another user's, and never write", async () => {
    const user = await createUser(sql);
    const other = await createUser(sql);
    await setLimits(user.id, { films_per_day: 5 });
    await setLimits(other.id, { films_per_day: 7 });
    const visible = await asUser(
      sql,
      user.id,
      (tx) => tx`select user_id, films_per_day from public.usage_limits order by user_id nulls first`,
    );
    expect(visible).toEqual([{ user_id: null, films_per_day: 20 }, { user_id: user.id, films_per_day: 5 }]);
    const mine = await asUser(sql, user.id, (tx) => tx`select public.my_usage() as u`);
    expect(mine[0].u.limits.filmsPerDay).toBe(5);

    const refusals = [
      (tx: postgres.TransactionSql) =>
        tx`update public.usage_limits set films_per_day = 1000 where user_id = ${user.id}`,
      (tx: postgres.TransactionSql) =>
        tx`update public.usage_limits set films_per_day = 1000 where user_id is null`,
      (tx: postgres.TransactionSql) =>
        tx`insert into public.usage_limits (user_id, films_per_day) values (${user.id}, 1000)`,
      (tx: postgres.TransactionSql) => tx`delete from public.usage_limits where user_id = ${user.id}`,
      (tx: postgres.TransactionSql) => tx`delete from public.usage_events where user_id = ${user.id}`,
      (tx: postgres.TransactionSql) =>
        tx`select public.set_usage_limits(${user.id}, '{"films_per_day": 1000}')`,
      (tx: postgres.TransactionSql) => tx`select engine.admit_usage(${user.id}, 'film', 'x')`,
    ];
    for (const attempt of refusals) {
      await expect(asUser(sql, user.id, attempt)).rejects.toMatchObject({ code: "42501" });
    }
    const [row] = await sql`select films_per_day from public.usage_limits where user_id = ${user.id}`;
    expect(row.films_per_day).toBe(5);
  });

  it("bounds the cap a user sets on their own provider key", async () => {
    const user = await createUser(sql);
    const register = await invoke("providers", {
      action: "register",
      providerType: "video",
      provider: "local",
      model: "local",
      concurrencyLimit: 50,
    }, { token: user.token });
    expect(register.status).toBe(400);
    expect(register.json.error.message).toMatch(/concurrencyLimit must be a whole number from 1 to 10/);
    const ok = await invoke("providers", {
      action: "register",
      providerType: "video",
      provider: "local",
      model: "local",
      concurrencyLimit: 4,
    }, { token: user.token });
    expect(ok.status, ok.text).toBe(201);
    await expect(
      asUser(
        sql,
        user.id,
        (tx) => tx`update public.api_providers set concurrency_limit = 50 where id = ${ok.json.provider.id}`,
      ),
    )
      .rejects.toMatchObject({ code: "23514" });
    const [cap] =
      await sql`select max_running from engine.concurrency_limits where concurrency_key = ${ok.json.provider.concurrencyKey}`;
    expect(cap.max_running).toBe(4);
  });

  it("does not let a user change the cap of a shared (project default) key", async () => {
    const user = await createUser(sql);
    // Inactive, so no other test's films resolve to it; its key's cap is set by hand.
    const [shared] = await sql`
      insert into public.api_providers (user_id, provider_type, provider, model, is_active, concurrency_limit)
      values (null, 'lipsync', 'local', 'local', false, 3) returning id, concurrency_key`;
    await sql`insert into engine.concurrency_limits (concurrency_key, max_running) values (${shared.concurrency_key}, 3)`;
    try {
      const updated = await asUser(
        sql,
        user.id,
        (tx) =>
          tx`update public.api_providers set concurrency_limit = 100, is_active = true where id = ${shared.id} returning id`,
      );
      expect(updated).toHaveLength(0);
      await expect(
        asUser(
          sql,
          user.id,
          (tx) =>
            tx`update engine.concurrency_limits set max_running = 100 where concurrency_key = ${shared.concurrency_key}`,
        ),
      )
        .rejects.toMatchObject({ code: "42501" });
      const [after] = await sql`
        select p.concurrency_limit, p.is_active, l.max_running from public.api_providers p
          join engine.concurrency_limits l on l.concurrency_key = p.concurrency_key where p.id = ${shared.id}`;
      expect(after).toEqual({ concurrency_limit: 3, is_active: false, max_running: 3 });
    } finally {
      await sql`delete from engine.concurrency_limits where concurrency_key = ${shared.concurrency_key}`;
      await sql`delete from public.api_providers where id = ${shared.id}`;
    }
  });
});

describe("bounded resume", () => {
  /** A failed top-level task nobody claims (no worker takes this kind), resumable by its owner. */
  async function failedTask(
    userId: string,
    options: { kind?: string; functionName?: string | null; parentId?: string | null; payload?: object } = {},
  ) {
    const [task] = await sql`
      select id from engine.enqueue_task(p_user_id => ${userId}, p_kind => ${
      options.kind ?? "quota.probe"
    }, p_function => ${options.functionName ?? null},
        p_payload => ${sql.json((options.payload ?? {}) as never)}, p_parent_id => ${
      options.parentId ?? null
    }, p_dispatch => false)`;
    await sql`update public.background_tasks set status = 'failed', attempts = max_attempts, finished_at = now() where id = ${task.id}`;
    return task.id as string;
  }

  it("refuses the sixth resume of one task with 409 resume_limit_reached", async () => {
    const user = await createUser(sql);
    const taskId = await failedTask(user.id);
    for (let i = 1; i <= 5; i++) {
      const [row] = await asUser(
        sql,
        user.id,
        (tx) => tx`select status, attempts, resumes from public.resume_task(${taskId})`,
      );
      expect(row).toMatchObject({ status: "queued", attempts: 0, resumes: i });
      await sql`update public.background_tasks set status = 'failed', attempts = max_attempts where id = ${taskId}`;
    }
    await expect(asUser(sql, user.id, (tx) => tx`select public.resume_task(${taskId})`)).rejects
      .toMatchObject({ code: "RF006" });
    const [after] = await sql`select status, resumes from public.background_tasks where id = ${taskId}`;
    expect(after).toEqual({ status: "failed", resumes: 5 });

    // Through a function the same refusal is a 409 naming it.
    const probe = await failedTask(user.id, {
      kind: "probe.append",
      functionName: "engine-probe",
      payload: { units: 0 },
    });
    await sql`update public.background_tasks set resumes = 5 where id = ${probe}`;
    const refused = await invoke("engine-probe", { action: "resume", taskId: probe }, { token: user.token });
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe("resume_limit_reached");
  });

  it("refuses to resume a scene task of a cancelled film with 409 film_cancelled", async () => {
    const user = await createUser(sql);
    const movieId = await finishedFilm(user.id, "cancelled");
    const produce = await failedTask(user.id, {
      kind: "film.produce",
      functionName: "produce-movie",
      payload: { movieId },
    });
    await sql`update public.background_tasks set status = 'cancelled' where id = ${produce}`;
    await sql`update public.movies set task_id = ${produce} where id = ${movieId}`;
    const chain = await failedTask(user.id, {
      kind: "film.chain",
      functionName: "generate-scene-video",
      parentId: produce,
      payload: { movieId, scenes: [1] },
    });
    const refused = await invoke("generate-scene-video", { action: "resume", taskId: chain }, {
      token: user.token,
    });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.json.error.code).toBe("film_cancelled");
    const [after] = await sql`select status, resumes from public.background_tasks where id = ${chain}`;
    expect(after).toEqual({ status: "failed", resumes: 0 });
    // A single-scene task of that film (no parent) is refused the same way.
    const single = await failedTask(user.id, { kind: "film.voices", payload: { movieId, sceneNumber: 1 } });
    await expect(asUser(sql, user.id, (tx) => tx`select public.resume_task(${single})`)).rejects
      .toMatchObject({ code: "RF007" });
  });

  it("resumes a failed scene task of a film that is not cancelled, and refuses internal tasks", async () => {
    const user = await createUser(sql);
    const movieId = await finishedFilm(user.id, "completed");
    const produce = await failedTask(user.id, { kind: "film.produce", payload: { movieId } });
    await sql`update public.background_tasks set status = 'succeeded' where id = ${produce}`;
    const chain = await failedTask(user.id, {
      kind: "film.chain",
      parentId: produce,
      payload: { movieId, scenes: [1] },
    });
    const [row] = await asUser(sql, user.id, (tx) => tx`select status from public.resume_task(${chain})`);
    expect(row.status).toBe("queued");
    const location = await failedTask(user.id, {
      kind: "film.location_image",
      parentId: chain,
      payload: { movieId },
    });
    await expect(asUser(sql, user.id, (tx) => tx`select public.resume_task(${location})`)).rejects
      .toMatchObject({ code: "RF008" });
    const cleanup = await failedTask(user.id, { kind: "asset.cleanup" });
    await expect(asUser(sql, user.id, (tx) => tx`select public.resume_task(${cleanup})`)).rejects
      .toMatchObject({ code: "RF008" });
  });

  it("counts an accepted take's resumed apply as a regeneration, and holds it where its accept is held", async () => {
    const user = await createUser(sql);
    const movieId = await finishedFilm(user.id, "completed");
    // The take the apply puts into the film: an accepted run and its version, current in its slot.
    const slot = `scene:${crypto.randomUUID()}:video`;
    const [take] = await sql`
      insert into public.assets (user_id, movie_id, slot, kind, version, state)
      values (${user.id}, ${movieId}, ${slot}, 'video', 2, 'current') returning id`;
    const [run] = await sql`
      insert into public.asset_runs (user_id, movie_id, slot, kind, target, status, preview_asset_id)
      values (${user.id}, ${movieId}, ${slot}, 'video', ${
      sql.json({ movieId, sceneNumber: 1 })
    }, 'accepted', ${take.id})
      returning id`;
    const payload = { movieId, runId: run.id, sceneNumber: 1, newClip: true, cascade: [] };
    // Cancelled by its owner (any owner may cancel an apply: it is not part of other work).
    const apply = await failedTask(user.id, { kind: "asset.apply", payload });
    await sql`update public.background_tasks set status = 'cancelled' where id = ${apply}`;
    const resume = () =>
      asUser(sql, user.id, async (tx) => {
        const [row] = await tx`select status, resumes from public.resume_task(${apply})`;
        // Out of every worker's reach, in the same commit: nothing is to run it here.
        await tx`reset role`;
        await tx`update public.background_tasks set run_after = now() + interval '1 hour' where id = ${apply}`;
        return row;
      });
    const unchanged = async () => {
      expect(await sql`select status, resumes from public.background_tasks where id = ${apply}`)
        .toEqual([{ status: "cancelled", resumes: 0 }]);
    };

    // No regenerations left. Before: resumed, uncounted, its remix and reassembly run again.
    await setLimits(user.id, { regenerations_per_day: 1 });
    await sql`insert into public.usage_events (user_id, kind, reason) values (${user.id}, 'regeneration', 'start')`;
    await expect(resume()).rejects.toMatchObject({ code: "RF009" });
    await unchanged();
    await setLimits(user.id, { regenerations_per_day: 5 });

    // The film back in production. Before: resumed beside it, two renders of one film at once.
    await sql`update public.movies set status = 'processing' where id = ${movieId}`;
    await expect(resume()).rejects.toMatchObject({ code: "RF016" });
    await sql`update public.movies set status = 'completed' where id = ${movieId}`;
    await unchanged();

    // The owner's assembly of the film open, then another take being applied to it.
    for (const [kind, code] of [["film.assemble", "RF017"], ["asset.apply", "RF018"]]) {
      const [open] = await sql`
        select id from engine.enqueue_task(p_user_id => ${user.id}, p_kind => ${kind}, p_function => null,
          p_payload => ${
        sql.json({ movieId })
      }, p_run_after => now() + interval '1 hour', p_dispatch => false)`;
      await expect(resume(), kind).rejects.toMatchObject({ code });
      await sql`select engine.cancel_task(${open.id}, 'test')`;
      await unchanged();
    }

    // A newer take accepted since: resuming this one's apply would render the film for nothing.
    // Before: admitted and counted, its remix and reassembly run again.
    await sql`update public.assets set state = 'superseded' where id = ${take.id}`;
    await expect(resume()).rejects.toMatchObject({ code: "RF008" });
    await unchanged();
    await sql`update public.assets set state = 'current' where id = ${take.id}`;

    const events = (await counts(user.id)).events;
    expect(await resume()).toEqual({ status: "queued", resumes: 1 });
    expect((await counts(user.id)).events).toBe(events + 1);
    await sql`select engine.cancel_task(${apply}, 'test')`;
  });

  it("refuses to resume a task that goes on by itself or is done with 409, counting and charging nothing", async () => {
    const user = await createUser(sql);
    const movieId = await finishedFilm(user.id);
    /** An assemble task of that film (whose resume is charged as a regeneration), due in an hour: nobody runs it. */
    const assembleTask = async () => {
      const payload = sql.json({ movieId });
      const [task] = await sql`
        select id from engine.enqueue_task(p_user_id => ${user.id}, p_kind => 'film.assemble', p_function => 'assemble',
          p_payload => ${payload}, p_run_after => now() + interval '1 hour', p_dispatch => false)`;
      return task.id as string;
    };
    const states: [string, (id: string) => Promise<unknown>, string, string][] = [
      ["queued for its next slice", async () => {}, "task_not_resumable", "is queued"],
      [
        "queued for its retry",
        (id) =>
          sql`update public.background_tasks set attempts = 1, last_error = '{"code":"provider_error","message":"busy"}'
             where id = ${id}`,
        "task_not_resumable",
        "is queued",
      ],
      // Handed off: its doorbell is on its way (kept from the sweeper for the test's length).
      [
        "between two slices",
        (id) =>
          sql`update public.background_tasks set status = 'running', started_at = now(), dispatched_at = now() + interval '1 hour'
             where id = ${id}`,
        "task_not_resumable",
        "between two slices",
      ],
      [
        "held by a live worker",
        (id) =>
          sql`update public.background_tasks set status = 'running', lease_owner = 'resume-test',
               lease_expires_at = now() + interval '10 minutes' where id = ${id}`,
        "task_active",
        "still active",
      ],
      [
        "waiting for its children",
        async (id) => {
          await sql`select engine.enqueue_task(p_user_id => ${user.id}, p_kind => 'quota.probe', p_function => null,
                    p_parent_id => ${id}, p_run_after => now() + interval '1 hour', p_dispatch => false)`;
          await sql`update public.background_tasks set status = 'waiting' where id = ${id}`;
        },
        "task_not_resumable",
        "is waiting",
      ],
      [
        "succeeded",
        (id) =>
          sql`update public.background_tasks set status = 'succeeded', progress = 100, finished_at = now() where id = ${id}`,
        "task_not_resumable",
        "succeeded",
      ],
    ];
    const tasks: string[] = [];
    for (const [, setUp] of states) {
      const id = await assembleTask();
      await setUp(id);
      tasks.push(id);
    }
    const snapshot = async () => ({
      tasks: await sql`
        select id, status, resumes, attempts, fencing_token, run_after, lease_expires_at
          from public.background_tasks where id = any(${tasks}::uuid[]) order by id`,
      usage: (await counts(user.id)).events,
    });
    const before = await snapshot();
    try {
      for (const [i, [state, , code, says]] of states.entries()) {
        const refused = await invoke("assemble", { action: "resume", taskId: tasks[i] }, {
          token: user.token,
        });
        expect(refused.status, `${state}: ${refused.text}`).toBe(409);
        expect(refused.json.error.code, state).toBe(code);
        if (code === "task_not_resumable") expect(refused.json.error.message, state).toContain(says);
      }
      expect(await snapshot()).toEqual(before);

      // What a resume is for besides a failed or cancelled task: one its worker left running (the
      // lease ran out), taken back now rather than at the sweeper's next pass.
      const [stale] = await sql`
        select id from engine.enqueue_task(p_user_id => ${user.id}, p_kind => 'quota.probe', p_function => null,
          p_dispatch => false)`;
      await sql`update public.background_tasks set status = 'running', lease_owner = 'gone',
                  lease_expires_at = now() - interval '1 minute' where id = ${stale.id}`;
      const [row] = await asUser(
        sql,
        user.id,
        (tx) => tx`select status, resumes from public.resume_task(${stale.id})`,
      );
      expect(row).toEqual({ status: "queued", resumes: 1 });
    } finally {
      // Nothing here should ever run.
      await sql`select engine.cancel_task(id, 'test done') from public.background_tasks
                 where user_id = ${user.id} and parent_id is null and status in ('queued', 'running', 'waiting')`;
    }
  });

  it("counts a film's resume against the limits: over them it is 429 and the film stays as it was", async () => {
    const user = await createUser(sql);
    const movieId = await finishedFilm(user.id, "failed");
    const produce = await failedTask(user.id, {
      kind: "film.produce",
      functionName: "produce-movie",
      payload: { movieId },
    });
    await sql`update public.movies set task_id = ${produce} where id = ${movieId}`;
    await setLimits(user.id, { films_per_day: 0 });
    const refused = await invoke("produce-movie", { action: "resume", movieId }, { token: user.token });
    expect(refused.status, refused.text).toBe(429);
    expect(refused.json.error).toMatchObject({ code: "quota_exceeded", limit: "filmsPerDay" });
    const [after] = await sql`
      select t.status, t.resumes, m.status as movie_status from public.background_tasks t join public.movies m on m.task_id = t.id where t.id = ${produce}`;
    expect(after).toEqual({ status: "failed", resumes: 0, movie_status: "failed" });
  });

  it("does not count a film that is still in production as one more when it is resumed", async () => {
    const user = await createUser(sql);
    await setLimits(user.id, { films_in_production: 1 });
    const movieId = await finishedFilm(user.id, "processing");
    const produce = await failedTask(user.id, { kind: "film.produce", payload: { movieId } });
    await sql`update public.movies set task_id = ${produce} where id = ${movieId}`;
    const [row] = await asUser(
      sql,
      user.id,
      (tx) => tx`select status, resumes from public.resume_task(${produce})`,
    );
    expect(row).toEqual({ status: "queued", resumes: 1 });
    // Another film would be one too many.
    expect((await startFilm(user)).status).toBe(429);
  });
});
