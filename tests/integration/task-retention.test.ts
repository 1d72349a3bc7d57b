/**
 * Retention (issue 17 §2, docs/engine.md "Retention"): the sweeper's retention step removes
 * finished tasks past their period in bounded batches, keeps everything still live or recent and
 * every product row, trims pg_net responses and the cleanup log by their own periods, and a status
 * call for a removed task answers 410 task_expired to its owner only; an operator may keep an
 * archive of what it removes, by month, dropped whole once old. Tasks are written straight
 * into the stack's database with a backdated finished_at; the actions run directly over it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Caller } from "../../shared/auth/caller.ts";
import { createTaskStore } from "../../shared/engine/task-store.ts";
import { taskActions } from "../../shared/http/task-actions.ts";
import {
  connect,
  connectAsAdmin,
  createOperatorUser,
  createUser,
  invoke,
  type Sql,
  type TestUser,
} from "../support/stack.ts";

let sql: Sql;
let owner: TestUser;
let stranger: TestUser;
let savedSettings: Record<string, unknown>;

const callerOf = (user: TestUser): Caller => ({
  userId: user.id,
  role: "authenticated",
  isAnonymous: false,
  isServiceRole: false,
  isOperator: false,
});

/** A task row as the engine leaves it, finished `finishedDaysAgo` days ago (null: not finished). */
async function task(
  kind: string,
  status: string,
  finishedDaysAgo: number | null,
  options: { userId?: string | null; parentId?: string; functionName?: string | null } = {},
): Promise<string> {
  const [row] = await sql`
    insert into public.background_tasks
      (user_id, kind, function_name, status, parent_id, run_after, lease_owner, lease_expires_at, finished_at)
    values (
      ${options.userId === undefined ? owner.id : options.userId}, ${kind},
      ${options.functionName === undefined ? "regenerate-asset" : options.functionName}, ${status},
      ${options.parentId ?? null}, now() + interval '1 day',
      ${status === "running" ? "retention-test" : null},
      ${status === "running" ? sql`now() + interval '1 day'` : null},
      ${finishedDaysAgo === null ? null : sql`now() - make_interval(days => ${finishedDaysAgo})`})
    returning id`;
  await sql`
    insert into public.background_task_steps (task_id, name, status, result)
    values (${row.id}, 'step-one', 'completed', '{"ok": true}'), (${row.id}, 'step-two', 'completed', null)`;
  return row.id;
}

async function exists(id: string): Promise<boolean> {
  const [row] = await sql`select count(*)::int as n from public.background_tasks where id = ${id}`;
  return row.n === 1;
}

/** Runs retention batches of `batch` until nothing more is due; returns each batch's count. */
async function expireAll(batch: number): Promise<number[]> {
  const counts: number[] = [];
  for (;;) {
    const [row] = await sql`select engine.expire_finished(${batch}) as n`;
    counts.push(row.n);
    if (row.n === 0) return counts;
  }
}

/** Test setup only: pg_cron's job table is its owner's (supabase_admin) to change. */
async function pauseRetentionJob(paused: boolean) {
  const admin = connectAsAdmin();
  try {
    await admin`select cron.alter_job(jobid, active => ${!paused}) from cron.job where jobname = 'reelforge-retention'`;
  } finally {
    await admin.end();
  }
}

beforeAll(async () => {
  sql = connect(2);
  owner = await createUser(sql);
  stranger = await createUser(sql);
  [savedSettings] = await sql`select * from engine.settings`;
  // The scheduled retention job stays out of the way: this test runs the retention step itself.
  await pauseRetentionJob(true);
  await sql`
    update engine.settings set task_retention_days = 14, clone_retention_days = 90,
      net_response_retention_hours = 6, cleanup_log_retention_days = 30, archive_expired_tasks = false`;
});

afterAll(async () => {
  await sql`
    update engine.settings set
      task_retention_days = ${savedSettings.task_retention_days as number},
      clone_retention_days = ${savedSettings.clone_retention_days as number},
      net_response_retention_hours = ${savedSettings.net_response_retention_hours as number},
      cleanup_log_retention_days = ${savedSettings.cleanup_log_retention_days as number},
      archive_expired_tasks = ${savedSettings.archive_expired_tasks as boolean},
      archive_retention_months = ${savedSettings.archive_retention_months as number}`;
  await pauseRetentionJob(false);
  await sql.end();
});

describe("task retention", () => {
  const ids: Record<string, string> = {};
  let movieId: string;

  beforeAll(async () => {
    ids.old = await task("asset.regenerate", "succeeded", 30);
    ids.oldFailed = await task("asset.regenerate", "failed", 20);
    ids.oldCancelled = await task("asset.apply", "cancelled", 15);
    ids.recent = await task("asset.regenerate", "succeeded", 1);
    ids.queued = await task("asset.regenerate", "queued", null);
    ids.running = await task("asset.regenerate", "running", null);
    // A finished parent whose child still runs stays, and so does the child.
    ids.parentOfRunning = await task("film.produce", "cancelled", 30, { functionName: "produce-movie" });
    ids.runningChild = await task("film.chain", "running", null, {
      parentId: ids.parentOfRunning,
      functionName: "generate-scene-video",
    });
    // An old finished child whose parent still runs stays.
    ids.runningParent = await task("film.produce", "running", null, { functionName: "produce-movie" });
    ids.oldChildOfRunning = await task("film.chain", "succeeded", 30, {
      parentId: ids.runningParent,
      functionName: "generate-scene-video",
    });
    // An old child of a parent still within retention stays: a resumed parent finds its children.
    ids.recentParent = await task("film.produce", "failed", 2, { functionName: "produce-movie" });
    ids.oldChildOfRecent = await task("film.chain", "succeeded", 30, {
      parentId: ids.recentParent,
      functionName: "generate-scene-video",
    });
    // A finished film: parent and child both old, both go (the child first).
    ids.oldParent = await task("film.produce", "succeeded", 30, { functionName: "produce-movie" });
    ids.oldChild = await task("film.chain", "succeeded", 31, {
      parentId: ids.oldParent,
      functionName: "generate-scene-video",
    });
    // Clone jobs: kept for clone_retention_days (90), not 14.
    ids.clone30 = await task("clone.database", "succeeded", 30, {
      userId: null,
      functionName: "clone-database",
    });
    ids.clone100 = await task("clone.database", "failed", 100, {
      userId: null,
      functionName: "clone-database",
    });

    const [movie] = await sql`
      insert into public.movies (user_id, title, prompt, genre, duration_minutes, status, task_id)
      values (${owner.id}, 'Kept', 'a film that outlives its tasks', 'drama', 1, 'completed', ${ids.oldParent})
      returning id`;
    movieId = movie.id;
    await sql`
      insert into public.movie_step_metrics (movie_id, user_id, step, task_id, step_name, phase, cost_units, cost_unit)
      values (${movieId}, ${owner.id}, 'video', ${ids.oldChild}, 'step-one', 'succeeded', 12.5, 'credits'),
             (${movieId}, ${owner.id}, 'video', ${ids.oldParent}, 'step-one', 'succeeded', 3, 'credits')`;
  });

  it("removes finished tasks past retention in batches no larger than asked", async () => {
    const counts = await expireAll(2);
    expect(counts.at(-1)).toBe(0);
    expect(counts.every((n) => n <= 2)).toBe(true);
    // old, oldFailed, oldCancelled, oldChild, oldParent, clone100: at least three batches of two.
    expect(counts.slice(0, -1).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(6);
    expect(counts.length).toBeGreaterThanOrEqual(4);
  });

  it("removes the old tasks and their steps, and records who owned them", async () => {
    const gone = ["old", "oldFailed", "oldCancelled", "oldParent", "oldChild", "clone100"];
    for (const name of gone) expect(await exists(ids[name]), name).toBe(false);
    const goneIds = gone.map((name) => ids[name]);
    const [steps] = await sql`
      select count(*)::int as n from public.background_task_steps where task_id = any(${goneIds}::uuid[])`;
    expect(steps.n).toBe(0);
    const records = await sql`
      select id, user_id, kind from engine.expired_tasks where id = any(${goneIds}::uuid[]) order by kind`;
    expect(records).toHaveLength(gone.length);
    expect(records.find((r) => r.id === ids.old)).toMatchObject({
      user_id: owner.id,
      kind: "asset.regenerate",
    });
    expect(records.find((r) => r.id === ids.clone100)).toMatchObject({
      user_id: null,
      kind: "clone.database",
    });
    // Archiving is off by default: deleted, not archived.
    const [archived] = await sql`
      select count(*)::int as n from engine.task_archive where id = any(${goneIds}::uuid[])`;
    expect(archived.n).toBe(0);
  });

  it("keeps live, recent and still-needed tasks, and clone jobs within their own period", async () => {
    const kept = [
      "recent",
      "queued",
      "running",
      "parentOfRunning",
      "runningChild",
      "runningParent",
      "oldChildOfRunning",
      "recentParent",
      "oldChildOfRecent",
      "clone30",
    ];
    for (const name of kept) expect(await exists(ids[name]), name).toBe(true);
    const [steps] = await sql`
      select count(*)::int as n from public.background_task_steps
       where task_id = any(${kept.map((name) => ids[name])}::uuid[])`;
    expect(steps.n).toBe(kept.length * 2);
  });

  it("leaves the film and its cost history in place", async () => {
    const [movie] = await sql`select status, task_id from public.movies where id = ${movieId}`;
    expect(movie).toEqual({ status: "completed", task_id: ids.oldParent });
    const metrics = await sql`
      select task_id, cost_units::float as cost from public.movie_step_metrics where movie_id = ${movieId}
       order by cost`;
    expect(metrics).toEqual([{ task_id: ids.oldParent, cost: 3 }, { task_id: ids.oldChild, cost: 12.5 }]);
  });

  it("answers 410 task_expired to the owner and 404 to anyone else", async () => {
    const actions = taskActions(createTaskStore(sql), "regenerate-asset");
    await expect(actions.status.run({ taskId: ids.old }, callerOf(owner))).rejects.toMatchObject({
      status: 410,
      code: "task_expired",
    });
    const asStranger = actions.status.run({ taskId: ids.old }, callerOf(stranger));
    await expect(asStranger).rejects.toMatchObject({ status: 404, code: "not_found" });
    // Exactly what an id that never existed answers.
    const unknown = crypto.randomUUID();
    const strangerError = await asStranger.catch((e: Error) => e.message.replace(ids.old, "ID"));
    const unknownError = await actions.status.run({ taskId: unknown }, callerOf(stranger))
      .catch((e: Error) => e.message.replace(unknown, "ID"));
    expect(strangerError).toBe(unknownError);
    // Another function's status action does not answer for it either.
    await expect(
      taskActions(createTaskStore(sql), "produce-movie").status.run({ taskId: ids.old }, callerOf(owner)),
    ).rejects.toMatchObject({ status: 404 });
    // A task still kept answers as before.
    const kept = await actions.status.run({ taskId: ids.recent }, callerOf(owner));
    expect((kept.body as { task: { status: string } }).task.status).toBe("succeeded");
  });

  it("says the same over HTTP, and to operators for a removed clone job", async () => {
    const asOwner = await invoke("regenerate-asset", { action: "status", taskId: ids.old }, {
      token: owner.token,
    });
    expect(asOwner.status).toBe(410);
    expect(asOwner.json.error.code).toBe("task_expired");
    expect(asOwner.json.error.message).toContain(ids.old);
    const asStranger = await invoke("regenerate-asset", { action: "status", taskId: ids.old }, {
      token: stranger.token,
    });
    expect(asStranger.status).toBe(404);
    const operator = await createOperatorUser();
    const clone = await invoke("clone-database", { action: "status", jobId: ids.clone100 }, {
      token: operator.token,
    });
    expect(clone.status).toBe(410);
    expect(clone.json.error.code).toBe("task_expired");
    const never = await invoke("clone-database", { action: "status", jobId: crypto.randomUUID() }, {
      token: operator.token,
    });
    expect(never.status).toBe(404);
  });

  it("answers 410 to a resume of a film whose task was removed, and still shows the film", async () => {
    const resume = await invoke("produce-movie", { action: "resume", movieId }, { token: owner.token });
    expect(resume.status).toBe(410);
    expect(resume.json.error.code).toBe("task_expired");
    const status = await invoke("produce-movie", { action: "status", movieId }, { token: owner.token });
    expect(status.status).toBe(200);
    expect(status.json.movie).toMatchObject({ id: movieId, status: "completed" });
  });

  it("removes clone jobs once past their own period", async () => {
    await sql`update engine.settings set clone_retention_days = 20`;
    expect(await expireAll(500)).toEqual([1, 0]);
    expect(await exists(ids.clone30)).toBe(false);
    await sql`update engine.settings set clone_retention_days = 90`;
  });
});

describe("an archive of removed tasks, when an operator keeps one", () => {
  /** The archive's partition a task finished `daysAgo` days ago goes to, as the engine names it. */
  async function monthOf(daysAgo: number): Promise<string> {
    const [row] = await sql`
      select 'engine.task_archive_' || to_char((now() - make_interval(days => ${daysAgo})) at time zone 'UTC',
        'YYYY_MM') as part`;
    return row.part;
  }
  const partitionExists = async (part: string) =>
    (await sql`select to_regclass(${part}) is not null as found`)[0].found as boolean;

  beforeAll(async () => {
    await sql`update engine.settings set archive_expired_tasks = true, archive_retention_months = 120`;
  });
  afterAll(async () => {
    await sql`update engine.settings set archive_expired_tasks = false, archive_retention_months = 12`;
  });

  it("keeps each removed task, its row and its steps, in its month's partition; status still 410", async () => {
    const id = await task("asset.regenerate", "succeeded", 40);
    await expireAll(500);
    expect(await exists(id)).toBe(false);
    const [row] = await sql`
      select tableoid::regclass::text as part, user_id, kind, status, task, steps
        from engine.task_archive where id = ${id}`;
    expect(row.part).toBe(await monthOf(40));
    expect(row).toMatchObject({ user_id: owner.id, kind: "asset.regenerate", status: "succeeded" });
    expect(row.task).toMatchObject({ id, function_name: "regenerate-asset", status: "succeeded" });
    expect(row.steps.map((step: Record<string, unknown>) => [step.name, step.status, step.result])).toEqual([
      ["step-one", "completed", { ok: true }],
      ["step-two", "completed", null],
    ]);
    const actions = taskActions(createTaskStore(sql), "regenerate-asset");
    await expect(actions.status.run({ taskId: id }, callerOf(owner))).rejects.toMatchObject({
      status: 410,
      code: "task_expired",
    });
  });

  it("drops a month whole once past archive_retention_months, and keeps the recent ones", async () => {
    const id = await task("asset.regenerate", "failed", 400);
    await expireAll(500);
    const old = await monthOf(400);
    expect(
      (await sql`select tableoid::regclass::text as part from engine.task_archive where id = ${id}`)[0].part,
    )
      .toBe(old);
    await sql`update engine.settings set archive_retention_months = 12`;
    const [{ retain }] = await sql`select engine.retain() as retain`;
    expect(retain.archiveMonthsDropped).toBeGreaterThanOrEqual(1);
    expect(await partitionExists(old)).toBe(false);
    expect(await partitionExists(await monthOf(40))).toBe(true);
    await sql`update engine.settings set archive_retention_months = 120`;
  });

  it("forgets an account's archived tasks with the account", async () => {
    const user = await createUser(sql);
    const id = await task("asset.regenerate", "succeeded", 30, { userId: user.id });
    await expireAll(500);
    const archived = async () =>
      (await sql`select count(*)::int as n from engine.task_archive where id = ${id}`)[0].n as number;
    expect(await archived()).toBe(1);
    await sql`delete from auth.users where id = ${user.id}`;
    expect(await archived()).toBe(0);
  });
});

describe("retention of the other growing tables", () => {
  it("trims pg_net responses and the cleanup log by their own periods, keeping pending log rows", async () => {
    const base = 9_000_000_000 + Math.floor(Math.random() * 1_000_000);
    await sql`
      insert into net._http_response (id, status_code, created)
      values (${base}, 200, now() - interval '7 hours'), (${base + 1}, 200, now() - interval '5 hours')`;
    const bucket = `retention-${crypto.randomUUID()}`;
    await sql`
      insert into public.storage_cleanup_log (storage_bucket, storage_path, first_seen_at, deleted_at)
      values (${bucket}, 'old', now() - interval '60 days', now() - interval '40 days'),
             (${bucket}, 'recent', now() - interval '20 days', now() - interval '10 days'),
             (${bucket}, 'pending', now() - interval '90 days', null)`;

    const [{ retain }] = await sql`select engine.retain() as retain`;
    // The scheduled pass (pg_cron, once a minute) may have trimmed them first, as it did in a
    // fresh-clone run where this call then counted 0: what is left is what counts.
    expect(retain).toMatchObject({ netResponses: expect.any(Number), cleanupLog: expect.any(Number) });

    const responses = await sql`
      select id::text from net._http_response where id in (${base}, ${base + 1})`;
    expect(responses.map((r) => r.id)).toEqual([String(base + 1)]);
    const log = await sql`
      select storage_path from public.storage_cleanup_log where storage_bucket = ${bucket} order by storage_path`;
    expect(log.map((r) => r.storage_path)).toEqual(["pending", "recent"]);
    await sql`delete from public.storage_cleanup_log where storage_bucket = ${bucket}`;
  });

  it("is scheduled with pg_cron, one pass a minute", async () => {
    const jobs = await sql`select schedule, command from cron.job where jobname = 'reelforge-retention'`;
    expect(jobs).toEqual([{ schedule: "* * * * *", command: "select engine.retain()" }]);
  });
});

describe("retention beside an account deletion", () => {
  // The lock order engine.expire_finished takes (the task rows, then the expired_tasks record) met
  // an account deletion (the user row, then its tasks by cascade) in the opposite order: a key on
  // the record naming the user made the record's insert wait for the user row, and Postgres broke
  // the cycle by failing one of them. Here the two interleave step by step, as they would.
  it("lets a user's deletion and the expiry of their task both finish, leaving no record", async () => {
    const user = await createUser(sql);
    const id = await task("asset.regenerate", "succeeded", 30, { userId: user.id });
    const retention = await sql.reserve();
    const deletion = connect(1);
    try {
      await retention`begin`;
      await retention`select id from public.background_tasks where id = ${id} for update`;
      const [{ pid }] = await deletion`select pg_backend_pid() as pid`;
      const deleting = deletion`delete from auth.users where id = ${user.id}`.then(
        () => null,
        (error) => error,
      );
      await waitUntilBlocked(pid);
      await retention`
        insert into engine.expired_tasks (id, user_id, kind, function_name, finished_at)
        select id, user_id, kind, function_name, finished_at from public.background_tasks where id = ${id}`;
      await retention`delete from public.background_tasks where id = ${id}`;
      await retention`commit`;
      expect(await deleting).toBeNull();
    } finally {
      retention.release();
      await deletion.end();
    }
    const [left] = await sql`
      select (select count(*)::int from auth.users where id = ${user.id}) as users,
             (select count(*)::int from engine.expired_tasks where user_id = ${user.id}) as records`;
    expect(left).toEqual({ users: 0, records: 0 });
  });
});

/** Waits until backend `pid` is waiting on a lock (its statement has reached the contended row). */
async function waitUntilBlocked(pid: number) {
  for (let tries = 0; tries < 200; tries++) {
    const [row] = await sql`select wait_event_type from pg_stat_activity where pid = ${pid}`;
    if (row?.wait_event_type === "Lock") return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`backend ${pid} never waited on a lock`);
}
