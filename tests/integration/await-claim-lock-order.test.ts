/**
 * A parent parking on its child (engine.await_tasks: the parent's own row locked, then its targets
 * share-locked) beside a doorbell claim of that child made with the liveness lock held
 * (engine.claim_task's p_lock_held). The claim used to write the child twice, and the second
 * update checked the child's foreign keys again, key-share locking the parent: with the parent
 * held by the park and the child by the claim, Postgres aborted one of them (40P01; four times in
 * one suite run). The claim now writes the child once and never touches the parent, so the park
 * waits for the claim's commit and then parks on the running child. Neither side retries here.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, createUser, namedConnection, type Sql, waitFor, waitsOnLock } from "../support/stack.ts";

let sql: Sql;
let userId: string;

beforeAll(async () => {
  sql = connect();
  userId = (await createUser(sql)).id;
});
afterAll(() => sql.end());

/** A running parent (claimed by a worker) and its queued child, both pulled kinds of their own. */
async function parentWithQueuedChild() {
  const kind = `lockorder.${crypto.randomUUID()}`;
  await sql`
    select engine.enqueue_task(p_user_id => ${userId}, p_kind => ${`${kind}.parent`}, p_function => null,
      p_dispatch => false)`;
  const [parent] = await sql`
    select id, fencing_token from engine.claim_next_task(${[`${kind}.parent`]}, 'lock-order', 60)`;
  const [child] = await sql`
    select id from engine.enqueue_task(p_user_id => ${userId}, p_kind => ${`${kind}.child`},
      p_function => null, p_parent_id => ${parent.id}, p_dispatch => false)`;
  return {
    parentId: parent.id as string,
    parentToken: String(parent.fencing_token),
    childId: child.id as string,
  };
}

describe("a parent parking on its child beside a claim of that child", () => {
  it("waits for the claim to commit instead of deadlocking with it, and parks on the running child", async () => {
    const family = await parentWithQueuedChild();
    const claimer = namedConnection("lock-order");
    const parker = namedConnection("lock-order");
    try {
      // The park's first statement: the parent's lease, its row locked (engine.lock_lease).
      await parker.db`begin`;
      await parker.db`select from engine.lock_lease(${family.parentId}, ${family.parentToken}::bigint)`;

      await claimer.db`begin`;
      let claim: { id: string; lease_locked_at: Date | null } | undefined;
      const claiming = claimer.db`
        select id, lease_locked_at from engine.claim_task(${family.childId}, 'doorbell', 60, true)`
        .then(([row]) => (claim = row as typeof claim));
      // Before the fix the claim stopped here, waiting for the parent's row.
      await waitFor(async () => claim !== undefined || await waitsOnLock(sql, claimer.applicationName), {
        everyMs: 10,
        what: "the claim to finish or to wait for a lock",
      });
      expect(await waitsOnLock(sql, claimer.applicationName)).toBe(false);
      await claiming;
      expect(claim).toMatchObject({ id: family.childId });
      expect(claim!.lease_locked_at).not.toBeNull();

      // The park share-locks its targets: it waits for the claim's uncommitted write of the child.
      // (execute(): postgres.js sends a query when it is awaited, and this one is awaited later.)
      const parking = parker.db`
        select engine.await_tasks(${family.parentId}, ${family.parentToken}::bigint,
          ${[family.childId]}::uuid[]) as parked`.execute();
      await waitFor(() => waitsOnLock(sql, parker.applicationName), {
        everyMs: 10,
        what: "the park to wait for the child",
      });
      await claimer.db`commit`;
      const [{ parked }] = await parking;
      await parker.db`commit`;
      expect(parked).toBe(true);
      // Read while the claimer's connection, which holds the child's liveness lock, is open: closed,
      // it is a worker gone, and the sweeper rightly puts its running child back in the queue (a
      // fresh-clone run read the child `queued` so).
      const rows = await sql`
        select id, status, lease_locked_at is not null as watched from public.background_tasks
         where id in (${family.parentId}, ${family.childId})`;
      const byId = Object.fromEntries(rows.map((row) => [row.id, row]));
      expect(byId[family.parentId]).toMatchObject({ status: "waiting" });
      expect(byId[family.childId]).toMatchObject({ status: "running", watched: true });
      const waits = await sql`select target_id from engine.task_waits where waiter_id = ${family.parentId}`;
      expect(waits.map((w) => w.target_id)).toEqual([family.childId]);
    } finally {
      // The parker first: a claim still waiting for the parent's row ends once the parent is free.
      await parker.db`rollback`.catch(() => {});
      await claimer.db`rollback`.catch(() => {});
      await claimer.db.end();
      await parker.db.end();
    }
  });

  it("a doorbell's claim of the child while the park holds it waits for the park and claims it", async () => {
    // A chain enqueues a location image and parks on it at once; the image's doorbell came while
    // the park held the image's row share-locked, the claim skipped the row, and the image waited
    // for the sweeper's next pass (15 s, twice in one suite run).
    const family = await parentWithQueuedChild();
    const claimer = namedConnection("lock-order");
    const parker = namedConnection("lock-order");
    try {
      await parker.db`begin`;
      const [{ parked }] = await parker.db`
        select engine.await_tasks(${family.parentId}, ${family.parentToken}::bigint,
          ${[family.childId]}::uuid[]) as parked`;
      expect(parked).toBe(true);
      let settled = false;
      const claiming = claimer.db`select id, status from engine.claim_task(${family.childId}, 'doorbell', 60)`
        .execute().finally(() => (settled = true));
      await waitFor(async () => settled || await waitsOnLock(sql, claimer.applicationName), {
        everyMs: 10,
        what: "the claim to finish or to wait for a lock",
      });
      // Before, the claim had ended already, claiming nothing.
      expect(settled).toBe(false);
      await parker.db`commit`;
      const [claimed] = await claiming;
      expect(claimed).toMatchObject({ id: family.childId, status: "running" });
    } finally {
      await parker.db`rollback`.catch(() => {});
      await claimer.db.end();
      await parker.db.end();
    }
    const [parent] = await sql`select status from public.background_tasks where id = ${family.parentId}`;
    expect(parent.status).toBe("waiting");
  });
});
