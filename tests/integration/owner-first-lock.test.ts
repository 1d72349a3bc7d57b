/**
 * Deleting an account locks its auth.users row first, then every row of the account by cascade.
 * A call that locks several of an account's rows, or writes rows whose foreign key checks the
 * owner, takes the owner's row first (engine.lock_owner, key share), in the deletion's order.
 * Taken after the task rows, a deletion and a film's work deadlocked: 5 deadlocks in 24 accounts
 * deleted mid-production, one of them failing the deletion. Checked where it shows: while another
 * transaction holds the owner's row as a deletion does, the call waits having locked none of the
 * task's rows. A lone task's end writes its own row only, and waits for nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordIntent } from "../../shared/film/film-metrics.ts";
import type { Sql as SharedSql } from "../../shared/db/client.ts";
import { connect, createUser, namedConnection, type Sql, waitFor, waitsOnLock } from "../support/stack.ts";

let sql: Sql;
let userId: string;
const kind = `probe.ownerfirst.${crypto.randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  sql = connect();
  userId = (await createUser(sql)).id;
});
afterAll(async () => {
  await sql`delete from public.background_tasks where kind like ${kind + "%"}`;
  await sql.end();
});

async function enqueue(suffix: string, parentId: string | null = null): Promise<string> {
  const [task] = await sql`
    select id from engine.enqueue_task(p_user_id => ${userId}, p_kind => ${kind + suffix},
      p_function => null, p_parent_id => ${parentId}, p_dispatch => false)`;
  return task.id;
}

async function claim(id: string): Promise<string> {
  const [claimed] =
    await sql`select fencing_token::text as token from engine.claim_task(${id}, 'owner-first', 30)`;
  return claimed.token;
}

/** A waiting parent and its claimed child. */
async function family() {
  const parentId = await enqueue(".parent");
  await sql`update public.background_tasks set status = 'waiting' where id = ${parentId}`;
  const childId = await enqueue("", parentId);
  return { parentId, childId, token: await claim(childId) };
}

/**
 * Runs `call` on its own connection while another transaction holds the owner's auth.users row
 * as an account's deletion first holds it. Owner first: the call waits for a lock (one that went
 * through without waiting would have met the deletion later, holding the rows it wrote), and
 * while it waits each of the task rows `tasks` and film rows `movies` is still free to lock.
 * Then lets `call` finish.
 */
async function takesOwnerFirst(tasks: string[], call: (db: Sql) => Promise<unknown>, movies: string[] = []) {
  const { applicationName, db: caller } = namedConnection("owner-first");
  const holder = await sql.reserve();
  try {
    await holder`begin`;
    await holder`select from auth.users where id = ${userId} for update`;
    let settled = false;
    const calling = call(caller as unknown as Sql).finally(() => settled = true);
    calling.catch(() => {});
    await waitFor(async () => settled || await waitsOnLock(sql, applicationName), {
      everyMs: 10,
      what: "the call to wait for a lock or end",
    });
    // One statement each: the locks, if it gets them, end with it.
    const free = async (table: "background_tasks" | "movies", ids: string[]) =>
      await sql`select id from ${sql("public." + table)} where id = any (${ids}::uuid[]) for update nowait`
        .then((locked) => locked.length === ids.length, () => false);
    const ownerFirst = !settled && await free("background_tasks", tasks) && await free("movies", movies);
    await holder`commit`;
    return { ownerFirst, outcome: await calling };
  } finally {
    await holder`rollback`.catch(() => {});
    holder.release();
    await caller.end();
  }
}

describe("the owner's row is locked before the task's", () => {
  it("by complete_task, for a child (its end wakes the parent)", async () => {
    const t = await family();
    const { ownerFirst, outcome } = await takesOwnerFirst(
      [t.parentId, t.childId],
      async (db) =>
        (await db`select engine.complete_task(${t.childId}, ${t.token}::bigint, '{}') as ok`)[0].ok,
    );
    expect(ownerFirst).toBe(true);
    expect(outcome).toBe(true);
    const [parent] = await sql`select status from public.background_tasks where id = ${t.parentId}`;
    expect(parent.status).toBe("queued");
  });

  it("by complete_tasks, a worker's gathered ends", async () => {
    const t = await family();
    const { ownerFirst, outcome } = await takesOwnerFirst([t.parentId, t.childId], async (db) =>
      (await db`
        select engine.complete_tasks(${[t.childId]}::uuid[], ${[t.token]}::bigint[], '[null]') as ended`)[0]
        .ended);
    expect(ownerFirst).toBe(true);
    expect(outcome).toEqual([true]);
  });

  it("by fail_task", async () => {
    const t = await family();
    const { ownerFirst, outcome } = await takesOwnerFirst([t.parentId, t.childId], async (db) =>
      (await db`
        select engine.fail_task(${t.childId}, ${t.token}::bigint, '{"code":"x","message":"x"}', false)
          as outcome`)[0].outcome);
    expect(ownerFirst).toBe(true);
    expect(outcome).toBe("failed");
  });

  it("by cancel_task, and by the owner's cancel, for a parent and its open child", async () => {
    for (const cancel of ["engine", "owner"] as const) {
      const parentId = await enqueue(".top");
      await claim(parentId);
      const childId = await enqueue(".kid", parentId);
      const { ownerFirst, outcome } = await takesOwnerFirst(
        [parentId, childId],
        async (db) =>
          cancel === "engine"
            ? (await db`select engine.cancel_task(${parentId}, 'test') as ok`)[0].ok
            : (await db`select engine.cancel_by_owner(${parentId}) as ok`)[0].ok,
      );
      expect(ownerFirst, cancel).toBe(true);
      expect(outcome, cancel).toBe(true);
      const [child] = await sql`select status from public.background_tasks where id = ${childId}`;
      expect(child.status, cancel).toBe("cancelled");
    }
  });

  it("by await_children, whose inserts check the owner", async () => {
    const parentId = await enqueue(".fan");
    const token = await claim(parentId);
    const children = sql.json([{ key: "a", kind: kind + ".kid", function_name: null }]);
    const { ownerFirst, outcome } = await takesOwnerFirst(
      [parentId],
      async (db) =>
        (await db`select engine.await_children(${parentId}, ${token}::bigint, ${children}) as parked`)[
          0
        ]
          .parked,
    );
    expect(ownerFirst).toBe(true);
    expect(outcome).toBe(true);
    const kids = await sql`select kind from public.background_tasks where parent_id = ${parentId}`;
    expect(kids).toEqual([{ kind: kind + ".kid" }]);
  });

  it("by await_tasks, a park on another task", async () => {
    const waiterId = await enqueue(".waiter");
    const token = await claim(waiterId);
    const targetId = await enqueue(".target");
    const { ownerFirst, outcome } = await takesOwnerFirst(
      [waiterId, targetId],
      async (db) =>
        (await db`select engine.await_tasks(${waiterId}, ${token}::bigint, ${[targetId]}::uuid[]) as parked`)[
          0
        ]
          .parked,
    );
    expect(ownerFirst).toBe(true);
    expect(outcome).toBe(true);
  });

  it("by restart_task", async () => {
    const id = await enqueue(".restart");
    await claim(id);
    const { ownerFirst, outcome } = await takesOwnerFirst(
      [id],
      async (db) => (await db`select (engine.restart_task(${id}, '{}')).status`)[0].status,
    );
    expect(ownerFirst).toBe(true);
    expect(outcome).toBe("queued");
  });

  it("by a paid step's intent, before its film's and its task's rows", async () => {
    const [{ id: movieId }] = await sql`
      insert into public.movies (user_id, title, prompt, genre, duration_minutes, status)
      values (${userId}, 'Owner first', 'a prompt', 'drama', 1, 'processing') returning id`;
    const taskId = await enqueue(".intent");
    await claim(taskId);
    const key = {
      movieId,
      userId,
      step: "generate_audio",
      sceneNumber: 1,
      taskId,
      stepName: "line-0",
      provider: "elevenlabs",
      model: "eleven_multilingual_v2",
    };
    const { ownerFirst, outcome } = await takesOwnerFirst([taskId], async (db) => {
      await recordIntent(db as unknown as SharedSql, key);
      return "recorded";
    }, [movieId]);
    expect(ownerFirst).toBe(true);
    expect(outcome).toBe("recorded");
    await sql`delete from public.movies where id = ${movieId}`;
  });
});

describe("a lone task's end", () => {
  it("writes its own row only, and does not wait for its owner's", async () => {
    const id = await enqueue(".lone");
    const token = await claim(id);
    const holder = await sql.reserve();
    try {
      await holder`begin`;
      await holder`select from auth.users where id = ${userId} for update`;
      const [ended] = await sql`select engine.complete_task(${id}, ${token}::bigint, '{}') as ok`;
      expect(ended.ok).toBe(true);
    } finally {
      await holder`rollback`;
      holder.release();
    }
  });
});

/**
 * Runs `call` in a transaction of its own, rolled back after (its doorbell never leaves), while
 * another transaction holds the owner's auth.users row, as an account's deletion does, and the
 * task rows `held`, as a parent's cancel holds the parent. The call must not wait for either:
 * it writes its task's row once, doorbell included. Written twice, the second write checked the
 * row's foreign keys, waiting for the parent's and the owner's rows while holding its own, and
 * so deadlocked with that cancel or deletion once they wanted it. Waited on, the call fails with
 * lock_timeout and the test with it.
 */
async function writesWithoutWaiting(held: string[], call: (db: Sql) => Promise<unknown>) {
  const holder = await sql.reserve();
  const caller = await sql.reserve();
  try {
    await holder`begin`;
    await holder`select from auth.users where id = ${userId} for update`;
    await holder`select from public.background_tasks where id = any (${held}::uuid[]) for update`;
    await caller`begin`;
    await caller`set local lock_timeout = '10s'`;
    return await call(caller as unknown as Sql);
  } finally {
    await caller`rollback`.catch(() => {});
    await holder`rollback`.catch(() => {});
    caller.release();
    holder.release();
  }
}

describe("a hand-off and a wake-up write their task once, doorbell included", () => {
  async function enqueueRung(suffix: string, parentId: string | null = null): Promise<string> {
    const [task] = await sql`
      select id from engine.enqueue_task(p_user_id => ${userId}, p_kind => ${kind + suffix},
        p_function => 'engine-probe', p_parent_id => ${parentId}, p_dispatch => false)`;
    return task.id;
  }

  it("by hand_off_task, for a child whose parent and owner are held elsewhere", async () => {
    const parentId = await enqueue(".handoff.parent");
    await sql`update public.background_tasks set status = 'waiting' where id = ${parentId}`;
    const childId = await enqueueRung(".handoff", parentId);
    const token = await claim(childId);
    const row = await writesWithoutWaiting([parentId], async (db) => {
      const [{ ok }] =
        await db`select engine.hand_off_task(${childId}, ${token}::bigint, '{"at":1}', 50) as ok`;
      expect(ok).toBe(true);
      const [task] = await db`
        select status, lease_expires_at, metadata, progress::float as progress,
               dispatch_request_id is not null as rung, dispatched_at = now() as rung_now
          from public.background_tasks where id = ${childId}`;
      return task;
    });
    expect(row).toMatchObject({
      status: "running",
      lease_expires_at: null,
      progress: 50,
      rung: true,
      rung_now: true,
    });
    expect((row as { metadata: { at: number } }).metadata.at).toBe(1);
  });

  it("by wake_parent, which the sweeper calls for any user's parent", async () => {
    const parentId = await enqueueRung(".wake");
    const childId = await enqueue(".wake.kid", parentId);
    await sql`update public.background_tasks set status = 'waiting' where id = ${parentId}`;
    const row = await writesWithoutWaiting([], async (db) => {
      // Ended in the rolled-back transaction only, so the sweeper never wakes the parent for real.
      await db`update public.background_tasks set status = 'succeeded', finished_at = now() where id = ${childId}`;
      await db`select engine.wake_parent(${parentId})`;
      const [task] = await db`
        select status, dispatch_request_id is not null as rung from public.background_tasks where id = ${parentId}`;
      return task;
    });
    expect(row).toEqual({ status: "queued", rung: true });
  });
});
