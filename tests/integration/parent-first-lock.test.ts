/**
 * Every engine function that ends a task on request (complete_task, and complete_tasks through it,
 * fail_task, cancel_task) locks the task's parent before the task itself: an end
 * wakes the parent, and ending a parent locks it and then its open children, so a child locking
 * itself first could deadlock with its parent's end. Checked where it shows: while another
 * transaction holds the parent, an ending call waits without having locked the child. A claim
 * that fails a child for good (its lease lost once too often) holds the child already, so it takes
 * the parent only if free and otherwise leaves the child for a later claim.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import postgres from "postgres";
import {
  connect,
  createUser,
  namedConnection,
  type Sql,
  stackEnv,
  waitFor,
  waitsOnLock,
} from "../support/stack.ts";

let sql: Sql;
let userId: string;
const kind = `probe.lockorder.${crypto.randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  sql = connect();
  userId = (await createUser(sql)).id;
});
afterAll(async () => {
  await sql`delete from public.background_tasks where kind like ${kind + "%"}`;
  await sql.end();
});

/** A waiting parent and its child, claimed: the child's id and fencing token. */
async function claimedChild() {
  const [parent] = await sql`
    select id from engine.enqueue_task(p_user_id => ${userId}, p_kind => ${kind + ".parent"},
      p_function => null, p_dispatch => false)`;
  await sql`update public.background_tasks set status = 'waiting' where id = ${parent.id}`;
  const [child] = await sql`
    select id from engine.enqueue_task(p_user_id => ${userId}, p_kind => ${kind}, p_function => null,
      p_parent_id => ${parent.id}, p_dispatch => false)`;
  const [claimed] = await sql`select fencing_token from engine.claim_task(${child.id}, 'lock-order', 30)`;
  return {
    parentId: parent.id as string,
    childId: child.id as string,
    token: claimed.fencing_token as string,
  };
}

/**
 * Runs `end` on its own connection while another transaction holds the parent; once `end` is
 * waiting for a lock, the child must still be free to lock. Then lets `end` finish.
 */
async function endsParentFirst(end: (db: Sql, task: { childId: string; token: string }) => Promise<unknown>) {
  const task = await claimedChild();
  const { applicationName, db: ender } = namedConnection("lock-order");
  const holder = await sql.reserve();
  try {
    await holder`begin`;
    await holder`select from public.background_tasks where id = ${task.parentId} for update`;
    const ending = end(ender as unknown as Sql, task);
    ending.catch(() => {});
    await waitFor(() => waitsOnLock(sql, applicationName), {
      everyMs: 10,
      what: "the ending call to wait for a lock",
    });
    // One statement of its own: the lock, if it gets it, ends with it.
    const childFree = await sql`
      select id from public.background_tasks where id = ${task.childId} for update nowait`
      .then((rows) => rows.length === 1, () => false);
    await holder`commit`;
    const outcome = await ending;
    return { childFree, outcome };
  } finally {
    await holder`rollback`.catch(() => {});
    holder.release();
    await ender.end();
  }
}

describe("the parent is locked before the task", () => {
  it("by complete_task", async () => {
    const { childFree, outcome } = await endsParentFirst(async (db, t) =>
      (await db`select engine.complete_task(${t.childId}, ${t.token}::bigint, '{}') as ok`)[0].ok
    );
    expect(childFree).toBe(true);
    expect(outcome).toBe(true);
  });

  it("by complete_tasks, a worker's gathered ends", async () => {
    const { childFree, outcome } = await endsParentFirst(async (db, t) =>
      (await db`
        select engine.complete_tasks(${[t.childId]}::uuid[], ${[t.token]}::bigint[], '[null]') as ended`)[0]
        .ended
    );
    expect(childFree).toBe(true);
    expect(outcome).toEqual([true]);
  });

  it("by fail_task", async () => {
    const { childFree, outcome } = await endsParentFirst(async (db, t) =>
      (await db`
        select engine.fail_task(${t.childId}, ${t.token}::bigint, '{"code":"x","message":"x"}', false)
          as outcome`)[0].outcome
    );
    expect(childFree).toBe(true);
    expect(outcome).toBe("failed");
  });

  it("by cancel_task, which the owner's cancel RPC calls", async () => {
    const { childFree, outcome } = await endsParentFirst(async (db, t) =>
      (await db`select engine.cancel_task(${t.childId}, 'test') as ok`)[0].ok
    );
    expect(childFree).toBe(true);
    expect(outcome).toBe(true);
  });

  it("and the parent, woken by its last child's end, is queued again", async () => {
    const task = await claimedChild();
    await sql`select engine.complete_task(${task.childId}, ${task.token}::bigint, '{}')`;
    const [parent] = await sql`select status from public.background_tasks where id = ${task.parentId}`;
    expect(parent.status).toBe("queued");
  });

  it("by a claim that fails a child whose lease was lost once too often: with the parent held elsewhere it leaves the child", async () => {
    const task = await claimedChild();
    // The child's worker died for the last time it may: its lease ran out at max_stalls - 1.
    await sql`
      update public.background_tasks
         set lease_expires_at = now() - interval '1 minute', stalls = max_stalls - 1
       where id = ${task.childId}`;
    const claimer = postgres(stackEnv().DB_URL, { max: 1, onnotice: () => {} });
    const claim = () =>
      claimer.begin(async (tx) => {
        // The old order waited here for the parent while holding the child; this makes it fail.
        await tx`set local lock_timeout = '5s'`;
        return (await tx`select id from engine.claim_next_task(${[kind]}::text[], 'lock-order', 30)`)[0].id;
      });
    const holder = await sql.reserve();
    try {
      await holder`begin`;
      await holder`select from public.background_tasks where id = ${task.parentId} for update`;
      expect(await claim()).toBeNull();
      const [untouched] = await sql`
        select status, fencing_token::text as token from public.background_tasks where id = ${task.childId}`;
      expect(untouched).toEqual({ status: "running", token: task.token });
      await holder`commit`;

      expect(await claim()).toBeNull();
      const [child] = await sql`
        select status, last_error ->> 'code' as code from public.background_tasks where id = ${task.childId}`;
      expect(child).toEqual({ status: "failed", code: "worker_lost" });
      const [parent] = await sql`select status from public.background_tasks where id = ${task.parentId}`;
      expect(parent.status).toBe("queued");
    } finally {
      await holder`rollback`.catch(() => {});
      holder.release();
      await claimer.end();
    }
  });
});
