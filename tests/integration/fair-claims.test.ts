import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, createUser, type Sql } from "../support/stack.ts";

// Structural fairness: which task the next claim returns, never how long anything took.
let sql: Sql;

beforeAll(() => {
  sql = connect();
});
afterAll(() => sql.end());

/** Queues `count` pulled tasks (no doorbell, no worker claims these kinds but ours). */
async function enqueue(
  userId: string,
  kind: string,
  count: number,
  concurrencyKey: string | null = null,
): Promise<string[]> {
  const rows = await sql`
    select (engine.enqueue_task(p_user_id => ${userId}, p_kind => ${kind}, p_function => null,
                                p_payload => jsonb_build_object('n', n), p_dispatch => false,
                                p_concurrency_key => ${concurrencyKey})).id as id
      from generate_series(1, ${count}) n`;
  return rows.map((r) => r.id as string);
}

async function claimNext(
  kind: string,
): Promise<{ id: string; user_id: string; fencing_token: string } | null> {
  const [row] = await sql`select id, user_id, fencing_token from engine.claim_next_task(${[
    kind,
  ]}, 'fair-test', 60)`;
  return row.id ? row as never : null;
}

async function capKey(key: string, cap: number) {
  await sql`insert into engine.concurrency_limits (concurrency_key, max_running) values (${key}, ${cap})`;
}

describe("fair claiming", () => {
  it("claims another user's task next while one user's 200 tasks wait on a key at its cap", async () => {
    const kind = `fair.capped.${crypto.randomUUID()}`;
    const key = `fair-key:${crypto.randomUUID()}`;
    const a = (await createUser(sql)).id;
    const b = (await createUser(sql)).id;
    await capKey(key, 2);
    await enqueue(a, kind, 202, key);
    // A fills the key's two slots; its other 200 tasks are older than anything B will queue.
    expect((await claimNext(kind))?.user_id).toBe(a);
    expect((await claimNext(kind))?.user_id).toBe(a);
    const [bTask] = await enqueue(b, kind, 1);
    // The old claim read only the 20 oldest due rows (all A's, all capped) and found nothing.
    const next = await claimNext(kind);
    expect(next?.id).toBe(bTask);
    // Nothing else is claimable: A's key is still full.
    expect(await claimNext(kind)).toBeNull();
  });

  it("gives a worker's slots asking together no more than a key's cap, and each user a turn", async () => {
    const kind = `fair.gathered.${crypto.randomUUID()}`;
    const key = `fair-key:${crypto.randomUUID()}`;
    const a = (await createUser(sql)).id;
    const b = (await createUser(sql)).id;
    await capKey(key, 1);
    await enqueue(a, kind, 5, key);
    await enqueue(a, kind, 5);
    await enqueue(b, kind, 5);
    // Four slots ask at once (engine.claim_tasks): one task of the capped key, and the other
    // three shared between the users rather than all A's older work.
    const claimed = await sql`
      select user_id, concurrency_key from engine.claim_tasks(${[kind]}, 'fair-test', 60, 4)`;
    expect(claimed).toHaveLength(4);
    expect(claimed.filter((t) => t.concurrency_key === key)).toHaveLength(1);
    expect(claimed.filter((t) => t.user_id === b).length).toBeGreaterThanOrEqual(1);
  });

  it("takes users in turn: B's one task comes right after A's first of 200 due tasks", async () => {
    const kind = `fair.backlog.${crypto.randomUUID()}`;
    const a = (await createUser(sql)).id;
    const b = (await createUser(sql)).id;
    await enqueue(a, kind, 200);
    expect((await claimNext(kind))?.user_id).toBe(a);
    const [bTask] = await enqueue(b, kind, 1);
    expect((await claimNext(kind))?.id).toBe(bTask);
  });

  it("alternates users when each claimed task is finished before the next claim", async () => {
    const kind = `fair.turns.${crypto.randomUUID()}`;
    const a = (await createUser(sql)).id;
    const b = (await createUser(sql)).id;
    await enqueue(a, kind, 50);
    await enqueue(b, kind, 50);
    const owners: string[] = [];
    for (let i = 0; i < 10; i++) {
      const task = (await claimNext(kind))!;
      owners.push(task.user_id === a ? "A" : "B");
      // Nothing stays running, so only the turn order can keep this fair.
      await sql`select engine.complete_task(${task.id}, ${task.fencing_token}::bigint, null, '{}')`;
    }
    expect(owners).toEqual(["A", "B", "A", "B", "A", "B", "A", "B", "A", "B"]);
  });

  it("skips a capped key at its cap and claims the same user's other work", async () => {
    const kind = `fair.skip.${crypto.randomUUID()}`;
    const key = `fair-key:${crypto.randomUUID()}`;
    const a = (await createUser(sql)).id;
    await capKey(key, 1);
    const capped = await enqueue(a, kind, 30, key);
    expect(capped).toContain((await claimNext(kind))?.id);
    const [free] = await enqueue(a, kind, 1);
    expect((await claimNext(kind))?.id).toBe(free);
    expect(await claimNext(kind)).toBeNull();
  });

  it("gives a freed slot of a shared key to the user with nothing running there, on the doorbell path too", async () => {
    const kind = `fair.doorbell.${crypto.randomUUID()}`;
    const key = `fair-key:${crypto.randomUUID()}`;
    const a = (await createUser(sql)).id;
    const b = (await createUser(sql)).id;
    await capKey(key, 2);
    const aTasks = await enqueue(a, kind, 20, key);
    const [first] = await sql`select id from engine.claim_task(${aTasks[0]}, 'fair-test', 60)`;
    expect(first.id).toBe(aTasks[0]);
    const [bTask] = await enqueue(b, kind, 1, key);
    // One slot is free. A already runs one there and B none: A's doorbell yields it...
    const [yielded] = await sql`select id from engine.claim_task(${aTasks[1]}, 'fair-test', 60)`;
    expect(yielded.id).toBeNull();
    // ...and B's takes it.
    const [taken] = await sql`select id from engine.claim_task(${bTask}, 'fair-test', 60)`;
    expect(taken.id).toBe(bTask);
    // With B served, A's queued work is claimable again as slots free up.
    await sql`select engine.complete_task(${bTask}, (select fencing_token from public.background_tasks where id = ${bTask}), null, '{}')`;
    const [again] = await sql`select id from engine.claim_task(${aTasks[1]}, 'fair-test', 60)`;
    expect(again.id).toBe(aTasks[1]);
  });

  it("rings the waiting user's task, not the backlog's oldest, when a slot frees", async () => {
    const kind = `fair.ring.${crypto.randomUUID()}`;
    const key = `fair-key:${crypto.randomUUID()}`;
    const a = (await createUser(sql)).id;
    const b = (await createUser(sql)).id;
    await capKey(key, 1);
    // Doorbell tasks: a worker name so dispatch rings them; the engine-probe fixture is never reached
    // for these kinds before we look (we read dispatched_at, set in the ringing transaction).
    const aTasks = (await sql`
      select (engine.enqueue_task(p_user_id => ${a}, p_kind => ${kind}, p_function => 'engine-probe', p_dispatch => false,
                                  p_concurrency_key => ${key})).id as id from generate_series(1, 10)`).map((
      r,
    ) => r.id as string);
    const [running] = await sql`select id, fencing_token from engine.claim_task(${
      aTasks[0]
    }, 'fair-test', 60)`;
    const [bTask] = (await sql`
      select (engine.enqueue_task(p_user_id => ${b}, p_kind => ${kind}, p_function => 'engine-probe', p_dispatch => false,
                                  p_concurrency_key => ${key})).id as id`).map((r) => r.id as string);
    await sql.begin(async (tx) => {
      await tx`select engine.complete_task(${running.id}, ${running.fencing_token}::bigint, null, '{}')`;
      const rung =
        await tx`select id from public.background_tasks where kind = ${kind} and dispatched_at is not null and status = 'queued'`;
      expect(rung.map((r) => r.id)).toEqual([bTask]);
      // Roll back: the stack's dispatcher must not deliver these test doorbells.
      throw new RolledBack();
    }).catch((error) => {
      if (!(error instanceof RolledBack)) throw error;
    });
    await sql`update public.background_tasks set status = 'cancelled' where kind = ${kind}`;
  });

  it("leaves a backlog on a key at its cap out of the sweeper's re-rings, and rings the other user's task", async () => {
    const kind = `fair.sweep.${crypto.randomUUID()}`;
    const key = `fair-key:${crypto.randomUUID()}`;
    const a = (await createUser(sql)).id;
    const b = (await createUser(sql)).id;
    // All inside one rolled-back transaction: the stack's own sweeper never sees these rows.
    await sql.begin(async (tx) => {
      await tx`insert into engine.concurrency_limits (concurrency_key, max_running) values (${key}, 1)`;
      const aTasks = (await tx`
        select (engine.enqueue_task(p_user_id => ${a}, p_kind => ${kind}, p_function => 'engine-probe', p_dispatch => false,
                                    p_concurrency_key => ${key})).id as id from generate_series(1, 600)`).map(
        (r) => r.id as string,
      );
      const [running] = await tx`select id from engine.claim_task(${aTasks[0]}, 'fair-test', 60)`;
      expect(running.id).toBe(aTasks[0]);
      const [bTask] = await tx`
        select (engine.enqueue_task(p_user_id => ${b}, p_kind => ${kind}, p_function => 'engine-probe', p_dispatch => false)).id as id`;
      await tx`select engine.sweep(500)`;
      const rung =
        await tx`select id from public.background_tasks where kind = ${kind} and status = 'queued' and dispatched_at is not null`;
      // The old sweep rang A's 500 oldest capped tasks and never reached B's.
      expect(rung.map((r) => r.id)).toEqual([bTask.id]);
      throw new RolledBack();
    }).catch((error) => {
      if (!(error instanceof RolledBack)) throw error;
    });
  });

  it("keeps abandoned pulled jobs out of the doorbell pass, so 500 of them do not fill it and a lost doorbell is rung", async () => {
    const kind = `fair.pulled.${crypto.randomUUID()}`;
    const a = (await createUser(sql)).id;
    await sql.begin(async (tx) => {
      // Render jobs whose workers died an hour ago: leases long expired, older than anything due.
      await tx`
        select engine.enqueue_task(p_user_id => ${a}, p_kind => ${`${kind}.render`}, p_function => null,
                                   p_dispatch => false)
          from generate_series(1, 600)`;
      await tx`
        update public.background_tasks
           set status = 'running', lease_owner = 'dead-render-worker', fencing_token = fencing_token + 1,
               lease_expires_at = now() - interval '50 minutes', run_after = now() - interval '1 hour'
         where kind = ${`${kind}.render`}`;
      // A pushed task whose doorbell was lost.
      const [pushed] = await tx`
        select (engine.enqueue_task(p_user_id => ${a}, p_kind => ${kind}, p_function => 'engine-probe',
                                    p_dispatch => false)).id as id`;
      await tx`select engine.sweep(500)`;
      const [after] = await tx`select dispatched_at from public.background_tasks where id = ${pushed.id}`;
      // The old sweep counted the 500 oldest render jobs as rung (ringing nothing) on every pass.
      expect(after.dispatched_at).not.toBeNull();
      throw new RolledBack();
    }).catch((error) => {
      if (!(error instanceof RolledBack)) throw error;
    });
  });
});

class RolledBack extends Error {}
