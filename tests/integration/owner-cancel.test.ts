/**
 * What an owner may cancel, and what a cancel leaves behind. Housekeeping (film.cancel_jobs, the
 * cleanups, render jobs) and a child task that is not a film's scene are part of other work: the
 * owner's cancel, by any function or the RPC, is 409 task_not_cancellable and changes nothing,
 * while the engine itself still cancels them. A regenerate run ends with its cancelled task, and
 * the task of a run that has ended (cancelled, rejected) is not resumed: 409 task_not_resumable,
 * nothing counted or charged.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asUser, connect, createUser, invoke, type Sql, type TestUser } from "../support/stack.ts";

let sql: Sql;
let owner: TestUser;

beforeAll(async () => {
  sql = connect();
  owner = await createUser(sql);
});
afterAll(async () => {
  // Nothing here should ever run.
  await sql`select engine.cancel_task(id, 'test done') from public.background_tasks
             where user_id = ${owner.id} and parent_id is null and status in ('queued', 'running', 'waiting')`;
  await sql.end();
});

/** A task of the owner's, due in an hour: no doorbell rings it while the test runs. */
async function openTask(
  kind: string,
  fn: string | null,
  options: { parentId?: string; payload?: Record<string, unknown> } = {},
) {
  const payload = sql.json((options.payload ?? {}) as never);
  const [task] = await sql`
    select id from engine.enqueue_task(p_user_id => ${owner.id}, p_kind => ${kind}, p_function => ${fn},
      p_payload => ${payload}, p_parent_id => ${options.parentId ?? null},
      p_run_after => now() + interval '1 hour', p_dispatch => false)`;
  return task.id as string;
}

const tasksOf = (ids: string[]) =>
  sql`select id, status, fencing_token, last_error from public.background_tasks
       where id = any(${ids}::uuid[]) order by id`;

const statusOf = async (id: string) =>
  (await sql`select status from public.background_tasks where id = ${id}`)[0].status as string;

describe("an owner's cancel", () => {
  it("refuses housekeeping and part of other work with 409 task_not_cancellable, changing nothing; the engine still cancels them", async () => {
    const movieId = crypto.randomUUID();
    const produce = await openTask("film.produce", "produce-movie", { payload: { movieId } });
    const chain = await openTask("film.chain", "generate-scene-video", {
      parentId: produce,
      payload: { movieId, scenes: [1] },
    });
    const refused: [string, string, string][] = [
      // Cancels the paid provider jobs of a cancelled film: cancelled itself, they would run on.
      [
        await openTask("film.cancel_jobs", "produce-movie", { payload: { movieId } }),
        "produce-movie",
        "film.cancel_jobs",
      ],
      [
        await openTask("asset.cleanup", "regenerate-asset", { payload: { userId: owner.id } }),
        "regenerate-asset",
        "asset.cleanup",
      ],
      [await openTask("storage.cleanup", "assemble"), "assemble", "storage.cleanup"],
      [
        await openTask("film.music", "produce-movie", { parentId: produce, payload: { movieId } }),
        "produce-movie",
        "film.music",
      ],
      [
        await openTask("film.location_image", "generate-scene-video", {
          parentId: chain,
          payload: { movieId },
        }),
        "generate-scene-video",
        "film.location_image",
      ],
    ];
    const render = await openTask("render", null, { parentId: chain });
    const all = [produce, chain, render, ...refused.map(([id]) => id)];
    const before = await tasksOf(all);

    for (const [taskId, fn, kind] of refused) {
      const response = await invoke(fn, { action: "cancel", taskId }, { token: owner.token });
      expect(response.status, `${kind}: ${response.text}`).toBe(409);
      expect(response.json.error.code).toBe("task_not_cancellable");
      expect(response.json.error.message).toContain(kind);
      expect(response.json.error.message).toContain("cancel the film or run it belongs to");
    }
    // The RPC, which reaches pulled render jobs too (no function answers for them).
    await expect(asUser(sql, owner.id, (tx) => tx`select public.cancel_task(${render})`)).rejects
      .toMatchObject({ code: "RF015" });
    expect(await tasksOf(all)).toEqual(before);

    // A film's scene task is the owner's to cancel; its housekeeping goes with it, by the engine.
    const scene = await invoke("generate-scene-video", { action: "cancel", taskId: chain }, {
      token: owner.token,
    });
    expect(scene.status, scene.text).toBe(200);
    expect(scene.json).toMatchObject({ cancelled: true, task: { status: "cancelled" } });
    expect(await statusOf(render)).toBe("cancelled");
    expect(await statusOf(refused[4][0])).toBe("cancelled");
    // And the engine's own cancels are not the owner's: a film's end takes its children, a
    // housekeeping task ends when the engine says so.
    expect((await sql`select engine.cancel_task(${produce}, 'film cancelled') as ok`)[0].ok).toBe(true);
    expect(await statusOf(refused[3][0])).toBe("cancelled");
    expect((await sql`select engine.cancel_task(${refused[0][0]}, 'test done') as ok`)[0].ok).toBe(true);
  });
});

describe("a regenerate run whose task is cancelled", () => {
  /** A cover run of a film of the owner's, running, with its asset.regenerate task (nobody runs it). */
  async function runningRun() {
    const [movie] = await sql`
      insert into public.movies (user_id, title, prompt, genre, duration_minutes, status)
      values (${owner.id}, 'Covered', 'a prompt', 'drama', 1, 'completed') returning id`;
    const target = sql.json({ movieId: movie.id });
    const [run] = await sql`
      insert into public.asset_runs (user_id, movie_id, slot, kind, target)
      values (${owner.id}, ${movie.id}, ${`movie:${movie.id}:cover`}, 'cover', ${target}) returning id`;
    const taskId = await openTask("asset.regenerate", "regenerate-asset", { payload: { runId: run.id } });
    await sql`update public.asset_runs set task_id = ${taskId} where id = ${run.id}`;
    return { runId: run.id as string, taskId };
  }
  const regenerate = (body: Record<string, unknown>) =>
    invoke("regenerate-asset", body, { token: owner.token });
  const runOf = async (runId: string) => (await regenerate({ action: "status", runId })).json.run;
  const charged = async (taskIds: string[]) => ({
    usage: (await sql`select count(*)::int as n from public.usage_events where user_id = ${owner.id}`)[0].n,
    tasks: await sql`
      select id, status, resumes, fencing_token from public.background_tasks
       where id = any(${taskIds}::uuid[]) order by id`,
  });

  it("ends the run failed in the cancel's transaction, and its task, like a rejected run's, is not resumed", async () => {
    // Cancelled by its owner through the function: the run does not stay `running` forever.
    const byAction = await runningRun();
    const cancelled = await regenerate({ action: "cancel", taskId: byAction.taskId });
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(await runOf(byAction.runId)).toMatchObject({ status: "failed", error: "cancelled by owner" });

    // Through the RPC, committed with the cancel.
    const byRpc = await runningRun();
    expect((await asUser(sql, owner.id, (tx) => tx`select public.cancel_task(${byRpc.taskId}) as ok`))[0].ok)
      .toBe(true);
    expect(await runOf(byRpc.runId)).toMatchObject({ status: "failed", error: "cancelled by owner" });

    // Rejected while running: the reject cancels the task and the run stays rejected.
    const rejected = await runningRun();
    expect((await regenerate({ action: "reject", runId: rejected.runId })).status).toBe(200);
    expect(await statusOf(rejected.taskId)).toBe("cancelled");
    expect((await runOf(rejected.runId)).status).toBe("rejected");

    // A resume of any of these tasks would be paid for and make nothing.
    const ended = [byAction, byRpc, rejected];
    const before = await charged(ended.map((r) => r.taskId));
    for (const { runId, taskId } of ended) {
      const resumed = await regenerate({ action: "resume", taskId });
      expect(resumed.status, resumed.text).toBe(409);
      expect(resumed.json.error.code).toBe("task_not_resumable");
      expect(resumed.json.error.message).toContain(`asset run ${runId}`);
      expect(resumed.json.error.message).toContain("start a new run");
    }
    expect(await charged(ended.map((r) => r.taskId))).toEqual(before);

    // A task that failed for good leaves its run running: that one its owner may resume (rolled
    // back, so that no worker makes this made-up film's cover).
    const failed = await runningRun();
    await sql`
      update public.background_tasks set status = 'failed', finished_at = now() where id = ${failed.taskId}`;
    await asUser(sql, owner.id, async (tx) => {
      const [row] = await tx`select status, resumes from public.resume_task(${failed.taskId})`;
      expect(row).toEqual({ status: "queued", resumes: 1 });
      throw new RolledBack();
    }).catch((error) => {
      if (!(error instanceof RolledBack)) throw error;
    });
    expect((await runOf(failed.runId)).status).toBe("running");
  });
});

class RolledBack extends Error {}
