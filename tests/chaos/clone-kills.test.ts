import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTargetDatabase, loadDataset, schemaFingerprint } from "../support/clone-db.ts";
import {
  admin,
  connect,
  createOperatorUser,
  invoke,
  sleep,
  type Sql,
  stackEnv,
  type TestUser,
  waitForStatus,
} from "../support/stack.ts";

const SCHEMA = "clone_big";
const SCALE = 400_000; // 11 tables of 400k rows + a keyless one of 200k: 4.6M rows (enough work to outlast 30 kills)
const KILLS = 30;
/** Fewer kills than this before the clone ends and the test says nothing: give it more rows. */
const MIN_KILLS = 15;

let sql: Sql;
let user: TestUser;
let target: Awaited<ReturnType<typeof createTargetDatabase>>;

beforeAll(async () => {
  sql = connect();
  user = await createOperatorUser();
  loadDataset(SCHEMA, SCALE);
  target = await createTargetDatabase();
  await admin("config", { env: { REELFORGE_LEASE_SECONDS: "2" } });
  await admin("workers/kill", { function: "clone-database" });
}, 300_000);

afterAll(async () => {
  await admin("config", { env: { REELFORGE_LEASE_SECONDS: null } });
  await target.drop();
  await sql.unsafe(`drop schema if exists ${SCHEMA} cascade`);
  await sql.end();
});

describe("random kills during a clone", () => {
  it(`a clone of 1M+ rows survives ${MIN_KILLS}+ worker kills by itself and verifies`, async () => {
    const start = await invoke("clone-database", {
      action: "start",
      targetUrl: target.url,
      options: { schemas: [SCHEMA] },
    }, { token: user.token });
    expect(start.status).toBe(202);
    const jobId = start.json.jobId as string;

    let kills = 0;
    while (kills < KILLS) {
      const workers = (await admin("workers")).live as Array<{ function: string; startedAt: string }>;
      const worker = workers.find((w) => w.function === "clone-database");
      if (!worker) {
        await sleep(25);
        continue;
      }
      // Each worker lives 0.15-0.8 s: some die booting, most after a chunk or two, many mid-chunk.
      // Short lives keep the clone running until the last kill; it must not finish early.
      const age = Date.now() - Date.parse(worker.startedAt);
      await sleep(Math.max(0, 150 + Math.random() * 650 - age));
      const { killed } = await admin("workers/kill", { function: "clone-database" }) as { killed: unknown[] };
      if (killed.length > 0) kills++;
      const [job] = await sql`select status from public.background_tasks where id = ${jobId}`;
      // A clone faster than planned may end before the last kill: that is no failure, but it must
      // have outlasted enough kills for the test to mean something.
      if (/succeeded|failed/.test(job.status)) break;
    }
    expect(kills, `the clone ended after only ${kills} kills; give it more work`).toBeGreaterThanOrEqual(
      MIN_KILLS,
    );

    const done = await waitForStatus(sql, jobId, ["succeeded", "failed", "cancelled"], 600_000);
    expect(done.last_error).toBeNull();
    expect(done.status).toBe("succeeded");
    // Kills cost the job its lease again and again: each claim after one is a new token. Not
    // "most kills": how many land on a worker still booting, before any claim, is the machine's
    // boot time against the kill's, and a fresh-clone run had 14 claims for 30 kills.
    expect(Number(done.fencing_token)).toBeGreaterThanOrEqual(MIN_KILLS / 3);

    // Checked independently of the job's own verification: same rows, no more, no fewer.
    const source = await schemaFingerprint(stackEnv().DB_URL, SCHEMA);
    expect(Object.values(source).reduce((sum, t) => sum + t.rows, 0)).toBeGreaterThanOrEqual(1_000_000);
    expect(Object.keys(source).length).toBeGreaterThanOrEqual(10);
    expect(await schemaFingerprint(target.url, SCHEMA)).toEqual(source);
  }, 900_000);
});
