/**
 * The sweeper must not hold back cleanup while it waits between passes (issue 17 §1). Where
 * pg_cron has only minute schedules (Debian's 1.4, the local stack), engine.run_sweeper loops
 * inside each minute. A procedure holds the snapshot of its first statement after a COMMIT until
 * the next COMMIT, so a sweeper that slept in one statement kept every row that died since the
 * sleep began from being cleaned up, for the whole database: under a stream of claims each claim
 * then walked the dead index entries of every task claimed since. Here: a transaction commits,
 * and shortly after, the sweeper's snapshot (if it has one) must already see it. Counted in
 * transaction ids, not timed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Sql } from "../support/stack.ts";

let sql: Sql;

beforeAll(() => {
  sql = connect();
});
afterAll(() => sql.end());

const SAMPLES = 10;

describe("the looping sweeper", () => {
  it("keeps no snapshot older than a transaction that committed before it went back to sleep", async () => {
    const [{ looping }] = await sql`
      select exists (select 1 from cron.job
                      where jobname = 'reelforge-sweeper' and command like '%run_sweeper(57)%') as looping`;
    expect(looping).toBe(true);
    let seen = 0;
    const holding: string[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      // A committed write: its xid is what a snapshot taken before the commit would hold back.
      const [{ xid }] = await sql`select pg_current_xact_id()::xid::text as xid`;
      // Long enough for a sweep pass that began before the commit to end (a pass takes a few ms).
      await sql`select pg_sleep(0.2)`;
      const sweepers = await sql`
        select backend_xmin::text as xmin, age(backend_xmin) >= age(${xid}::xid) as holds_it_back
          from pg_stat_activity
         where query like 'call engine.run_sweeper(%' and state = 'active'`;
      seen += sweepers.length;
      for (const s of sweepers) if (s.holds_it_back) holding.push(`xmin ${s.xmin} <= ${xid}`);
    }
    // The sweeper loops for 57 s of every minute: most samples find it.
    expect(seen).toBeGreaterThan(0);
    expect(holding).toEqual([]);
  });
});
