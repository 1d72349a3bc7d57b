import { afterAll, beforeAll, describe, expect, it } from "vitest";
import postgres from "postgres";
import { connect, createUser, type Sql, stackEnv } from "../support/stack.ts";

let sql: Sql;
let userId: string;

beforeAll(async () => {
  sql = connect();
  userId = (await createUser(sql)).id;
});
afterAll(() => sql.end());

async function enqueuePulled(kind: string, count: number) {
  await sql`
    select engine.enqueue_task(p_user_id => ${userId}, p_kind => ${kind}, p_function => null,
                               p_payload => jsonb_build_object('n', n), p_dispatch => false)
      from generate_series(1, ${count}) n`;
}

describe("claiming", () => {
  it("never lets two concurrent claimers hold the same task", async () => {
    const kind = `claims.race.${crypto.randomUUID()}`;
    await enqueuePulled(kind, 50);
    const claimers = Array.from({ length: 10 }, () => postgres(stackEnv().DB_URL, { max: 1 }));
    try {
      // Everyone claims at once and keeps what it got, until nothing is left to claim: no task
      // may be handed to two of them. (SKIP LOCKED may answer "nothing" while others hold rows.)
      const remaining = async () =>
        (await sql`select count(*)::int as n from public.background_tasks where kind = ${kind} and status = 'queued'`)[
          0
        ].n;
      const rounds = await Promise.all(claimers.map(async (db, i) => {
        const got: string[] = [];
        while (await remaining() > 0) {
          const [row] = await db`select id from engine.claim_next_task(${[kind]}, ${`claimer-${i}`}, 30)`;
          if (row.id) got.push(row.id);
        }
        return got;
      }));
      const all = rounds.flat();
      expect(all).toHaveLength(50);
      expect(new Set(all).size).toBe(50);
    } finally {
      await Promise.all(claimers.map((db) => db.end()));
    }
  });

  it("runs 1,000 tasks across 8 concurrent workers exactly once each", async () => {
    const kind = `claims.thousand.${crypto.randomUUID()}`;
    await enqueuePulled(kind, 1000);
    await sql`create temporary table if not exists noop (x int)`; // warm the pool
    const ran = new Map<string, number>();
    const workers = Array.from({ length: 8 }, () => postgres(stackEnv().DB_URL, { max: 1 }));
    try {
      await Promise.all(workers.map(async (db, i) => {
        for (;;) {
          const [task] = await db`select id, fencing_token from engine.claim_next_task(${[
            kind,
          ]}, ${`w${i}`}, 30)`;
          if (!task.id) return;
          ran.set(task.id, (ran.get(task.id) ?? 0) + 1);
          const [{ ok }] =
            await db`select engine.complete_task(${task.id}, ${task.fencing_token}::bigint, null, '{}') as ok`;
          expect(ok).toBe(true);
        }
      }));
    } finally {
      await Promise.all(workers.map((db) => db.end()));
    }
    expect(ran.size).toBe(1000);
    expect([...ran.values()].every((count) => count === 1)).toBe(true);
    const [{ succeeded }] = await sql`
      select count(*)::int as succeeded from public.background_tasks where kind = ${kind} and status = 'succeeded'`;
    expect(succeeded).toBe(1000);
  });

  it("runs 1,000 tasks across 8 concurrent workers exactly once each, claiming and ending 4 at a time", async () => {
    const kind = `claims.gathered.${crypto.randomUUID()}`;
    await enqueuePulled(kind, 1000);
    const ran = new Map<string, number>();
    const workers = Array.from({ length: 8 }, () => postgres(stackEnv().DB_URL, { max: 1 }));
    try {
      await Promise.all(workers.map(async (db, i) => {
        for (;;) {
          const tasks = await db`select id, fencing_token from engine.claim_tasks(${[
            kind,
          ]}, ${`w${i}`}, 30, 4)`;
          if (tasks.length === 0) {
            const [{ queued }] = await db`
              select exists (select from public.background_tasks where kind = ${kind} and status = 'queued') as queued`;
            if (queued) continue; // the due rows were all locked by other claimers
            return;
          }
          for (const task of tasks) ran.set(task.id, (ran.get(task.id) ?? 0) + 1);
          const [{ ended }] = await db`
            select engine.complete_tasks(${tasks.map((t) => t.id)}::uuid[],
              ${tasks.map((t) => t.fencing_token)}::bigint[], ${db.json(tasks.map(() => null))}) as ended`;
          expect(ended).toEqual(tasks.map(() => true));
        }
      }));
    } finally {
      await Promise.all(workers.map((db) => db.end()));
    }
    expect(ran.size).toBe(1000);
    expect([...ran.values()].every((count) => count === 1)).toBe(true);
    const statuses = await sql`
      select status, count(*)::int as n from public.background_tasks where kind = ${kind} group by status`;
    expect(statuses).toEqual([{ status: "succeeded", n: 1000 }]);
  });

  it("ends several tasks in one call, each as complete_task would, skipping only a caller fenced out", async () => {
    const kind = `claims.ends.${crypto.randomUUID()}`;
    await enqueuePulled(kind, 3);
    const held = await sql`select id, fencing_token from engine.claim_tasks(${[kind]}, 'w', 30, 3)`;
    expect(held).toHaveLength(3);
    const tokens = held.map((t, i) => (i === 1 ? Number(t.fencing_token) - 1 : Number(t.fencing_token)));
    const [{ ended }] = await sql`
      select engine.complete_tasks(${held.map((t) => t.id)}::uuid[], ${tokens}::bigint[],
        ${sql.json([{ n: 0 }, { n: 1 }, null])}) as ended`;
    expect(ended).toEqual([true, false, true]);
    const rows = await sql`
      select id, status, result from public.background_tasks where id = any(${
      held.map((t) => t.id)
    }::uuid[])`;
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(held[0].id)).toMatchObject({ status: "succeeded", result: { n: 0 } });
    expect(byId.get(held[1].id)).toMatchObject({ status: "running", result: null });
    expect(byId.get(held[2].id)).toMatchObject({ status: "succeeded", result: null });
  });

  it("refuses ends whose tokens or results do not match the tasks, and changes nothing", async () => {
    const kind = `claims.ends-bad.${crypto.randomUUID()}`;
    await enqueuePulled(kind, 2);
    const held = await sql`select id, fencing_token from engine.claim_tasks(${[kind]}, 'w', 30, 2)`;
    const ids = held.map((t) => t.id);
    const tokens = held.map((t) => t.fencing_token);
    for (
      const [badTokens, results] of [
        [tokens.slice(0, 1), [null, null]],
        [tokens, [null]],
        [tokens, { not: "an array" }],
      ] as const
    ) {
      const error = await sql`select engine.complete_tasks(${ids}::uuid[], ${badTokens as string[]}::bigint[],
        ${sql.json(results as never)})`.catch((e) => e);
      expect(error.code).toBe("22023");
    }
    const statuses = await sql`select distinct status from public.background_tasks where kind = ${kind}`;
    expect(statuses).toEqual([{ status: "running" }]);
  });

  it("claims up to the count asked in one call, fewer when fewer are due", async () => {
    const kind = `claims.many.${crypto.randomUUID()}`;
    await enqueuePulled(kind, 3);
    const first = await sql`select id, status, lease_owner from engine.claim_tasks(${[kind]}, 'w', 30, 2)`;
    expect(first).toHaveLength(2);
    expect(first.every((t) => t.status === "running" && t.lease_owner === "w")).toBe(true);
    const rest = await sql`select id from engine.claim_tasks(${[kind]}, 'w', 30, 5)`;
    expect(rest).toHaveLength(1);
    expect(new Set([...first, ...rest].map((t) => t.id)).size).toBe(3);
    expect(await sql`select id from engine.claim_tasks(${[kind]}, 'w', 30, 5)`).toHaveLength(0);
  });

  it("does not hand out a task before its run_after", async () => {
    const kind = `claims.later.${crypto.randomUUID()}`;
    await sql`
      select engine.enqueue_task(p_user_id => ${userId}, p_kind => ${kind}, p_function => null,
                                 p_run_after => now() + interval '1 hour', p_dispatch => false)`;
    const [row] = await sql`select id from engine.claim_next_task(${[kind]}, 'w', 30)`;
    expect(row.id).toBeNull();
  });

  it("returns the existing task for a repeated idempotency key", async () => {
    const kind = `claims.idem.${crypto.randomUUID()}`;
    const enqueue = () =>
      sql`
      select id from engine.enqueue_task(p_user_id => ${userId}, p_kind => ${kind}, p_function => null,
                                         p_idempotency_key => 'same', p_dispatch => false)`;
    const [[a], [b]] = await Promise.all([enqueue(), enqueue()]);
    expect(a.id).toBe(b.id);
  });
});

describe("abandoned pulled work", () => {
  // A render job whose worker died (its lease ran out), with newer jobs of its kind queued behind:
  // the sweeper puts it back in the queue, where the next claim meets it first.
  async function abandonOne(kind: string, stalls = 0) {
    await enqueuePulled(kind, 1);
    const [dead] = await sql`select id, fencing_token from engine.claim_next_task(${[
      kind,
    ]}, 'dead-render-worker', 30)`;
    await sql`
      update public.background_tasks set lease_expires_at = now() - interval '1 second', stalls = ${stalls}
       where id = ${dead.id}`;
    await enqueuePulled(kind, 3);
    return dead as { id: string; fencing_token: string };
  }

  it("goes back in the queue at the sweep, ahead of what was queued after it", async () => {
    const kind = `claims.abandoned.${crypto.randomUUID()}`;
    const dead = await abandonOne(kind);
    await sql`select engine.sweep()`;
    const [task] =
      await sql`select status, lease_owner, stalls, fencing_token from public.background_tasks where id = ${dead.id}`;
    // A lost lease is a stall, and the late worker's token no longer writes.
    expect(task).toMatchObject({ status: "queued", lease_owner: null, stalls: 1 });
    expect(BigInt(task.fencing_token)).toBe(BigInt(dead.fencing_token) + 1n);
    // The old engine claimed it back only once nothing queued was due: the three newer jobs first.
    const [next] = await sql`select id, stalls from engine.claim_next_task(${[
      kind,
    ]}, 'live-render-worker', 30)`;
    expect(next).toMatchObject({ id: dead.id, stalls: 1 });
  });

  it("fails worker_lost at the sweep when that loss is its last allowed stall", async () => {
    const kind = `claims.abandoned.last.${crypto.randomUUID()}`;
    const dead = await abandonOne(kind, 24);
    await sql`select engine.sweep()`;
    const [task] =
      await sql`select status, stalls, last_error from public.background_tasks where id = ${dead.id}`;
    expect(task).toMatchObject({ status: "failed", stalls: 25, last_error: { code: "worker_lost" } });
  });
});
