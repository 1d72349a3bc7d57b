/**
 * Pulled tasks (no Edge Function: render and local_media jobs) are announced on the
 * reelforge_pulled channel, payload their kind, whenever one becomes queued: on insert, and when a
 * retry, a wake-up or a resume queues it again. Idle render workers LISTEN there and claim at once
 * (shared/worker/worker-loop.ts). Nothing else is announced: not an idempotent enqueue that
 * inserted nothing, not a claim, not an end, not a task with a doorbell.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, createUser, type Sql } from "../support/stack.ts";

let sql: Sql;
let listener: Sql;
let userId: string;
const kind = `probe.pulled.${crypto.randomUUID().slice(0, 8)}`;
const heard: string[] = [];
let markers = 0;

beforeAll(async () => {
  sql = connect();
  listener = connect();
  userId = (await createUser(sql)).id;
  await listener.listen("reelforge_pulled", (payload) => heard.push(payload));
});
afterAll(async () => {
  await sql`delete from public.background_tasks where kind = ${kind}`;
  await Promise.all([sql.end(), listener.end()]);
});

/**
 * What was announced for this kind since the last call. Notifications arrive in commit order, so
 * once a marker sent after the action has arrived, everything the action announced has too.
 */
async function announced(): Promise<number> {
  const marker = `marker-${kind}-${++markers}`;
  await sql`select pg_notify('reelforge_pulled', ${marker})`;
  const deadline = Date.now() + 10_000;
  while (!heard.includes(marker)) {
    if (Date.now() > deadline) throw new Error(`the marker ${marker} never arrived`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const count = heard.splice(0, heard.indexOf(marker) + 1).filter((payload) => payload === kind).length;
  return count;
}

async function enqueue(options: { key?: string; functionName?: string; runAfter?: string } = {}) {
  const [task] = await sql`
    select id from engine.enqueue_task(p_user_id => ${userId}, p_kind => ${kind},
      p_function => ${options.functionName ?? null}, p_idempotency_key => ${options.key ?? null},
      p_run_after => coalesce(${options.runAfter ?? null}::timestamptz, now()), p_dispatch => false,
      p_backoff_base_ms => 1)`;
  return task.id as string;
}

async function claim() {
  const [task] = await sql`
    select id, fencing_token from engine.claim_next_task(array[${kind}]::text[], 'announce-test', 30)`;
  return task as { id: string | null; fencing_token: string };
}

describe("announcing pulled tasks", () => {
  it("announces a new pulled task once, and not its idempotent repeat", async () => {
    await enqueue({ key: "once" });
    expect(await announced()).toBe(1);
    await enqueue({ key: "once" });
    expect(await announced()).toBe(0);
  });

  it("does not announce a claim or an end, and announces a retry that queues the task again", async () => {
    const task = await claim();
    expect(task.id).not.toBeNull();
    expect(await announced()).toBe(0);
    const [{ outcome }] = await sql`
      select engine.fail_task(${task.id}, ${task.fencing_token}::bigint, '{"code":"flaky"}', true) as outcome`;
    expect(outcome).toBe("queued");
    expect(await announced()).toBe(1);
    await sql`update public.background_tasks set run_after = now() where id = ${task.id}`;
    expect(await announced()).toBe(1);
    const again = await claim();
    expect(again.id).toBe(task.id);
    await sql`select engine.complete_task(${again.id}, ${again.fencing_token}::bigint, '{}')`;
    expect(await announced()).toBe(0);
  });

  it("announces a pulled task resumed after it failed", async () => {
    const id = await enqueue();
    await announced();
    const task = await claim();
    expect(task.id).toBe(id);
    await sql`select engine.fail_task(${id}, ${task.fencing_token}::bigint, '{"code":"fatal"}', false)`;
    expect(await announced()).toBe(0);
    await sql`select engine.resume_task(${id})`;
    expect(await announced()).toBe(1);
  });

  it("does not announce a write to a queued task that leaves it as due as it was", async () => {
    const id = await enqueue();
    await announced();
    await sql`update public.background_tasks set metadata = '{"note":"x"}' where id = ${id}`;
    expect(await announced()).toBe(0);
    await sql`delete from public.background_tasks where id = ${id}`;
  });

  it("does not announce a task that has a doorbell", async () => {
    // Due in an hour, so the sweeper does not ring it while the test runs.
    await enqueue({
      functionName: "produce-movie",
      runAfter: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(await announced()).toBe(0);
  });
});
