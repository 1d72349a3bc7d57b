/**
 * engine.await_tasks: a task that needs another task's result parks (waiting, no lease) instead of
 * holding a worker, and the first of its targets to end wakes it. Pulled tasks stand in for both
 * sides here, so the test drives every transition itself.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, createUser, type Sql, stackEnv } from "../support/stack.ts";

let sql: Sql;
let userId: string;

beforeAll(async () => {
  sql = connect();
  userId = (await createUser(sql)).id;
});
afterAll(() => sql.end());

/** A new pulled task of its own kind, claimed: { id, token }. */
async function claimed(role: string, db: Sql = sql) {
  const kind = `waits.${role}.${crypto.randomUUID()}`;
  await db`select engine.enqueue_task(p_user_id => ${userId}, p_kind => ${kind}, p_function => null, p_dispatch => false)`;
  const [row] = await db`select id, fencing_token from engine.claim_next_task(${[
    kind,
  ]}, ${`test-${role}`}, 30)`;
  return { id: row.id as string, token: String(row.fencing_token) };
}

const park = (waiter: { id: string; token: string }, targets: string[], db: Sql = sql) =>
  db`select engine.await_tasks(${waiter.id}, ${waiter.token}::bigint, ${targets}::uuid[], '{"parked": true}') as parked`
    .then(([r]) => r.parked as boolean);
const complete = (task: { id: string; token: string }, db: Sql = sql) =>
  db`select engine.complete_task(${task.id}, ${task.token}::bigint, '{"ok": true}')`;
/** The same end gathered with another task's (engine.complete_tasks, as a worker's slots end theirs). */
const completeGathered = async (task: { id: string; token: string }, db: Sql = sql) => {
  const other = await claimed("other");
  const [{ ended }] = await db`
    select engine.complete_tasks(${[other.id, task.id]}::uuid[], ${[other.token, task.token]}::bigint[],
      '[null, {"ok": true}]') as ended`;
  expect(ended).toEqual([true, true]);
};
const row = async (id: string) =>
  (await sql`select status, lease_owner, lease_expires_at, stalls, metadata from public.background_tasks where id = ${id}`)[
    0
  ];
const waitsOf = async (id: string) =>
  (await sql`select target_id from engine.task_waits where waiter_id = ${id}`).map((r) => r.target_id);

describe("waiting for another task", () => {
  it("parks without a lease, stays asleep through sweeps while its target is open, and wakes when the target ends", async () => {
    const target = await claimed("target");
    const waiter = await claimed("waiter");
    expect(await park(waiter, [target.id])).toBe(true);
    expect(await row(waiter.id)).toMatchObject({
      status: "waiting",
      lease_owner: null,
      lease_expires_at: null,
      stalls: 0,
      metadata: { parked: true },
    });
    expect(await waitsOf(waiter.id)).toEqual([target.id]);

    await sql`select engine.sweep()`;
    expect((await row(waiter.id)).status).toBe("waiting");

    await complete(target);
    expect((await row(waiter.id)).status).toBe("queued");
    expect(await waitsOf(waiter.id)).toEqual([]);
  });

  it("wakes on the first of several targets to end, failed ones too", async () => {
    const first = await claimed("target");
    const second = await claimed("target");
    const waiter = await claimed("waiter");
    expect(await park(waiter, [first.id, second.id])).toBe(true);
    await sql`select engine.fail_task(${second.id}, ${second.token}::bigint, '{"code": "boom", "message": "boom"}', false)`;
    expect((await row(waiter.id)).status).toBe("queued");
    expect((await row(first.id)).status).toBe("running");
  });

  it("forgets what a parked task waited for when it is cancelled", async () => {
    const target = await claimed("target");
    const waiter = await claimed("waiter");
    expect(await park(waiter, [target.id])).toBe(true);
    await sql`select engine.cancel_task(${waiter.id}, 'cancelled by the test')`;
    expect((await row(waiter.id)).status).toBe("cancelled");
    // Before, its wait row stayed until retention removed the task.
    expect(await waitsOf(waiter.id)).toEqual([]);
    await complete(target);
    expect((await row(waiter.id)).status).toBe("cancelled");
  });

  it("does not park on targets that have all ended: the caller keeps its lease and reads them", async () => {
    const target = await claimed("target");
    await complete(target);
    const waiter = await claimed("waiter");
    expect(await park(waiter, [target.id])).toBe(false);
    expect(await row(waiter.id)).toMatchObject({ status: "running", lease_owner: "test-waiter" });
  });

  it("refuses a waiter that no longer holds its task", async () => {
    const target = await claimed("target");
    const waiter = await claimed("waiter");
    const error = await park({ ...waiter, token: String(BigInt(waiter.token) - 1n) }, [target.id]).catch((
      e,
    ) => e);
    expect(error.code).toBe("RF001");
    expect((await row(waiter.id)).status).toBe("running");
  });

  it.each([["complete_task", complete], ["complete_tasks", completeGathered]])(
    "never leaves a waiter asleep when its target ends (%s) while it parks, in either order",
    async (_, end) => {
      const first = postgres(stackEnv().DB_URL, { max: 1 });
      const second = postgres(stackEnv().DB_URL, { max: 1 });
      const db = (c: postgres.Sql) => c as unknown as Sql;
      try {
        // The park commits last: the end, run while the park is open, must still see its wait row.
        let target = await claimed("target");
        let waiter = await claimed("waiter");
        let ending: Promise<unknown> = Promise.resolve();
        await first.begin(async (tx) => {
          expect(await park(waiter, [target.id], db(tx as unknown as postgres.Sql))).toBe(true);
          ending = end(target, db(second));
          await new Promise((resolve) => setTimeout(resolve, 300)); // room for the end to run, were it not held back
        });
        await ending;
        expect((await row(waiter.id)).status).toBe("queued");

        // The end commits last: the park, run while the end is open, must see the target ended.
        target = await claimed("target");
        waiter = await claimed("waiter");
        let parking: Promise<boolean> = Promise.resolve(false);
        await first.begin(async (tx) => {
          await end(target, db(tx as unknown as postgres.Sql));
          parking = park(waiter, [target.id], db(second));
          await new Promise((resolve) => setTimeout(resolve, 300));
        });
        expect(await parking).toBe(false);
        expect((await row(waiter.id)).status).toBe("running");
      } finally {
        await Promise.all([first.end(), second.end()]);
      }
    },
  );

  it("cancels the open children of a task whose end is gathered with another's", async () => {
    const parent = await claimed("parent");
    const [child] = await sql`
      select id from engine.enqueue_task(p_user_id => ${userId}, p_kind => ${`waits.child.${crypto.randomUUID()}`},
        p_function => null, p_parent_id => ${parent.id}, p_dispatch => false)`;
    await completeGathered(parent);
    expect((await row(parent.id)).status).toBe("succeeded");
    expect((await row(child.id)).status).toBe("cancelled");
  });
});
