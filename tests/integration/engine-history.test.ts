/**
 * Claims and sweeps stay cheap however many finished tasks the table holds (issue 17 §1,
 * migration 20261203000500_engine_history.sql). With a history, statistics make a queued kind
 * look rare (`status = 'queued'` and the kind are each a small fraction of the table, and the
 * planner multiplies them), and a claim used to read and sort every due row of its kinds; the
 * sweeper's fan-in pass scanned the whole table for parked tasks. Here a claim must read a bounded
 * number of index entries off background_tasks and a sweep must not scan the history, counted by
 * the transaction's own statistics (pg_stat_get_xact_tuples_returned), not timed. Everything
 * happens in one transaction that is rolled back: the history, the backlog, the fresh ANALYZE,
 * the claims and the sweep.
 */
import type { TransactionSql } from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, createUser, type Sql } from "../support/stack.ts";

let sql: Sql;
let userId: string;

beforeAll(async () => {
  sql = connect();
  userId = (await createUser(sql)).id;
});
afterAll(() => sql.end());

const HISTORY = 20_000;
const BACKLOG = 500;
// Far below the backlog: the claim itself, its fairness probe and its lease write read a few.
const MAX_ENTRIES_READ = 50;

type Tx = TransactionSql;

/** Index entries read off background_tasks' indexes in this transaction so far. */
async function entriesRead(tx: Tx): Promise<number> {
  const [{ n }] = await tx`
    select coalesce(sum(pg_stat_get_xact_tuples_returned(indexrelid)), 0)::int
           + pg_stat_get_xact_tuples_returned('public.background_tasks'::regclass)::int as n
      from pg_index where indrelid = 'public.background_tasks'::regclass`;
  return n;
}

/** Rows read off background_tasks by sequential scans in this transaction so far. */
async function rowsScanned(tx: Tx): Promise<number> {
  const [{ n }] =
    await tx`select pg_stat_get_xact_tuples_returned('public.background_tasks'::regclass)::int as n`;
  return n;
}

/** Runs `body` in a transaction that is always rolled back. */
async function rolledBack(body: (tx: Tx) => Promise<void>): Promise<void> {
  const rollback = new Error("rollback");
  await sql.begin(async (tx) => {
    await body(tx);
    throw rollback;
  }).catch((error) => {
    if (error !== rollback) throw error;
  });
}

/**
 * `history` finished tasks of other kinds, then a due backlog per kind (oldest first), then fresh
 * statistics.
 */
async function historyAndBacklog(
  tx: Tx,
  backlogs: { kind: string; minutesAgo: number }[],
  history = HISTORY,
) {
  await tx`
    insert into public.background_tasks (user_id, kind, function_name, status, run_after, finished_at)
    select ${userId}, 'history.' || (i % 9), null, 'succeeded', now() - interval '30 days',
           now() - interval '30 days'
      from generate_series(1, ${history}) i`;
  for (const { kind, minutesAgo } of backlogs) {
    await tx`
      insert into public.background_tasks (user_id, kind, function_name, run_after, created_at)
      select ${userId}, ${kind}, null, now() - make_interval(mins => ${minutesAgo}) + make_interval(secs => i),
             now() - make_interval(mins => ${minutesAgo}) + make_interval(secs => i)
        from generate_series(1, ${BACKLOG}) i`;
  }
  await tx`analyze public.background_tasks`;
}

async function claim(tx: Tx, kinds: string[]) {
  const before = await entriesRead(tx);
  const [task] =
    await tx`select id, kind, run_after from engine.claim_next_task(${kinds}, 'history-test', 30)`;
  return { task, read: (await entriesRead(tx)) - before };
}

describe("claims under a history of finished tasks", () => {
  it("read a bounded number of entries for one kind, and take its oldest due task", async () => {
    const kind = `history.claim.${crypto.randomUUID()}`;
    await rolledBack(async (tx) => {
      await historyAndBacklog(tx, [{ kind, minutesAgo: 60 }]);
      const [oldest] = await tx`
        select id from public.background_tasks where kind = ${kind} order by run_after, created_at limit 1`;
      const { task, read } = await claim(tx, [kind]);
      expect(task.id).toBe(oldest.id);
      expect(read).toBeLessThan(MAX_ENTRIES_READ);
      // The next claim takes the next task, just as cheaply.
      const second = await claim(tx, [kind]);
      expect(second.task.id).not.toBe(oldest.id);
      expect(second.task.kind).toBe(kind);
      expect(second.read).toBeLessThan(MAX_ENTRIES_READ);
    });
  });

  it("read a bounded number of entries for several kinds, and take the oldest due task of them all", async () => {
    const newer = `history.newer.${crypto.randomUUID()}`;
    const older = `history.older.${crypto.randomUUID()}`;
    await rolledBack(async (tx) => {
      await historyAndBacklog(tx, [{ kind: newer, minutesAgo: 30 }, { kind: older, minutesAgo: 90 }]);
      const [oldest] = await tx`
        select id from public.background_tasks where kind = ${older} order by run_after, created_at limit 1`;
      const { task, read } = await claim(tx, [newer, older]);
      expect(task.id).toBe(oldest.id);
      expect(read).toBeLessThan(MAX_ENTRIES_READ);
    });
  });

  it("read a bounded number of entries on a near-empty table too, under a generic plan", async () => {
    // Without a history the table is small and a scan of it looks cheap: a lone user's claim whose
    // check for other users was written as `not exists (... order by ... limit 1)` got a generic
    // plan (Postgres drops the order and limit inside EXISTS) that scanned the whole table twice
    // per claim, and the engine benchmark fell to half its rate.
    const kind = `history.small.${crypto.randomUUID()}`;
    await rolledBack(async (tx) => {
      await historyAndBacklog(tx, [{ kind, minutesAgo: 60 }], 0);
      await tx`set local plan_cache_mode = force_generic_plan`;
      for (let i = 0; i < 3; i++) {
        const { task, read } = await claim(tx, [kind]);
        expect(task.kind).toBe(kind);
        expect(read).toBeLessThan(MAX_ENTRIES_READ);
      }
    });
  });

  it("still finds nothing to claim when every due row of the kind is not yet due", async () => {
    const kind = `history.later.${crypto.randomUUID()}`;
    await rolledBack(async (tx) => {
      await historyAndBacklog(tx, [{ kind, minutesAgo: -60 }]);
      const { task } = await claim(tx, [kind]);
      expect(task.id).toBeNull();
    });
  });

  it("leave an idle worker's poll off the history: its look for abandoned jobs reads leases, not the kinds' past", async () => {
    await rolledBack(async (tx) => {
      await historyAndBacklog(tx, []);
      // Nothing of these kinds is due, as for a render worker between jobs (it polls every 500 ms
      // a slot): the claim looks for running jobs whose holder is gone, of which there are none.
      // It walks the live leases of the whole stack (those of the test files running beside this
      // one included, with entries not yet cleaned up: about 2,000 in one full run), not the
      // kinds' finished tasks.
      const { task, read } = await claim(tx, ["history.1", "history.2"]);
      expect(task.id).toBeNull();
      expect(read).toBeLessThan(HISTORY / 4);
    });
  });

  it("leave the sweeper's pass off the history: it reads parked tasks off their own index", async () => {
    await rolledBack(async (tx) => {
      await historyAndBacklog(tx, []);
      const before = await rowsScanned(tx);
      await tx`select engine.sweep()`;
      // A scan of the table reads at least the history; the pass itself reads live rows only.
      expect((await rowsScanned(tx)) - before).toBeLessThan(HISTORY / 2);
    });
  });
});
