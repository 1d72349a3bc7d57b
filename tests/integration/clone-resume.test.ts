/**
 * The seed's zombie case, as its user meets it: a clone killed mid-data and left alone is found
 * stale and then resumes by itself (the cron sweeper); a half-finished clone that the operator
 * restarts drops what it made and clones again from zero; a clone killed while post_data builds
 * keys and indexes in parallel sessions resumes and builds each once. All end verified on the
 * real stack.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTargetDatabase, loadDataset, schemaDump, schemaFingerprint } from "../support/clone-db.ts";
import {
  admin,
  connect,
  createOperatorUser,
  invoke,
  type Sql,
  stackEnv,
  type TestUser,
  waitFor,
  waitForStatus,
} from "../support/stack.ts";

const SCHEMA = "clone_resume";

let sql: Sql;
let operator: TestUser;
const targets: Array<{ drop(): Promise<void> }> = [];

const clone = (body: Record<string, unknown>) => invoke("clone-database", body, { token: operator.token });
const status = async (jobId: string) => (await clone({ action: "status", jobId })).json.job;

async function newTarget() {
  const target = await createTargetDatabase();
  targets.push(target);
  return target;
}

/** Starts a clone and returns once it has committed rows of the data phase but not finished it. */
async function startAndWaitForRows() {
  const target = await newTarget();
  const start = await clone({ action: "start", targetUrl: target.url, options: { schemas: [SCHEMA] } });
  expect(start.status).toBe(202);
  const jobId = start.json.jobId as string;
  const midData = await waitFor(async () => {
    const job = await status(jobId);
    return job.phase === "data" && job.rows.copied > 0 ? job : null;
  }, { what: "rows committed in the data phase", everyMs: 10, timeoutMs: 60_000 });
  return { jobId, target, midData };
}

/**
 * Kills the job's worker and keeps the sweeper from re-driving it (as if cron had not run yet),
 * then waits until the status calls it stale: its lease ran out with nobody holding it.
 */
async function killAndWaitUntilStale(jobId: string) {
  await sql`update public.background_tasks set dispatched_at = now() + interval '1 hour' where id = ${jobId}`;
  await admin("workers/kill", { function: "clone-database" });
  return await waitFor(async () => {
    const job = await status(jobId);
    return job.isStale ? job : null;
  }, { what: "the job to look stale", timeoutMs: 30_000 });
}

beforeAll(async () => {
  sql = connect();
  operator = await createOperatorUser();
  // Big enough that the data phase spans many chunks: the kill lands mid-data.
  loadDataset(SCHEMA, 8_000);
  await admin("config", { env: { REELFORGE_LEASE_SECONDS: "3" } });
  await admin("workers/kill", { function: "clone-database" });
}, 180_000);

afterAll(async () => {
  await admin("config", { env: { REELFORGE_LEASE_SECONDS: null } });
  for (const target of targets) await target.drop();
  await sql.unsafe(`drop schema if exists ${SCHEMA} cascade`);
  await sql.end();
});

describe("a clone killed mid-data", () => {
  it("left alone, is found stale and resumes by itself from its checkpoint, then verifies", async () => {
    const { jobId, target } = await startAndWaitForRows();
    const stale = await killAndWaitUntilStale(jobId);
    expect(stale.phase).toBe("data");
    expect(stale.completedPhases).not.toContain("data");
    const slicesBefore = await sliceCount(jobId);

    // Cron's sweeper is now free to act; nobody calls resume.
    await sql`update public.background_tasks set dispatched_at = now() - interval '1 hour' where id = ${jobId}`;
    const done = await waitForStatus(sql, jobId, ["succeeded", "failed"], 180_000);
    expect(done.status).toBe("succeeded");
    // A slice's end is recorded just after its outcome commits (shared/engine/slice-runner.ts), so
    // the status can read succeeded a moment before the resumed slice's row is there.
    await waitFor(async () => await sliceCount(jobId) > slicesBefore, {
      what: "the resumed slice's end to be recorded",
      timeoutMs: 10_000,
    });
    // The verification that passed compared every row on both sides: nothing copied twice or lost.
    expect((await status(jobId)).mismatches).toEqual([]);
    expect(await schemaFingerprint(target.url, SCHEMA)).toEqual(
      await schemaFingerprint(stackEnv().DB_URL, SCHEMA),
    );
  });

  it("restarted by the operator, drops what it made and clones again from zero", async () => {
    const { jobId, target } = await startAndWaitForRows();
    await killAndWaitUntilStale(jobId);
    const copiedRows = await targetRowCount(target.url);
    expect(copiedRows).toBeGreaterThan(0);

    const restarted = await clone({ action: "restart", jobId });
    expect(restarted.status).toBe(202);
    expect(restarted.json.droppedObjects).toBeGreaterThan(0);

    const done = await waitForStatus(sql, jobId, ["succeeded", "failed"], 180_000);
    expect(done.status).toBe("succeeded");
    expect(await schemaFingerprint(target.url, SCHEMA)).toEqual(
      await schemaFingerprint(stackEnv().DB_URL, SCHEMA),
    );
  });
});

describe("a clone killed while it builds keys and indexes", () => {
  it("resumes post_data and builds each key, index and constraint once", async () => {
    let caught: { jobId: string; target: { url: string } } | null = null;
    // post_data lasts a fraction of a second here: a job that gets past it before the kill lands
    // is restarted and tried again.
    for (let attempt = 0; attempt < 4 && !caught; attempt++) {
      const target = await newTarget();
      const start = await clone({ action: "start", targetUrl: target.url, options: { schemas: [SCHEMA] } });
      const jobId = start.json.jobId as string;
      const phase = await waitFor(async () => {
        const job = await status(jobId);
        return ["post_data", "verify"].includes(job.phase) ||
            ["succeeded", "failed", "cancelled"].includes(job.status)
          ? job.phase
          : null;
      }, { what: "post_data", everyMs: 5, timeoutMs: 120_000 });
      if (phase !== "post_data") {
        await clone({ action: "cancel", jobId });
        continue;
      }
      await admin("workers/kill", { function: "clone-database" });
      caught = { jobId, target };
    }
    expect(caught, "no kill landed in post_data in 4 attempts").not.toBeNull();
    const { jobId, target } = caught!;
    const done = await waitForStatus(sql, jobId, ["succeeded", "failed"], 180_000);
    expect(done.status).toBe("succeeded");
    // pg_dump sees every key, index and constraint, each once, exactly as on the source.
    expect(schemaDump(target.url, [SCHEMA], ["--no-owner"])).toEqual(
      schemaDump(stackEnv().DB_URL, [SCHEMA], ["--no-owner"]),
    );
    expect(await schemaFingerprint(target.url, SCHEMA)).toEqual(
      await schemaFingerprint(stackEnv().DB_URL, SCHEMA),
    );
  });
});

/** Slices the engine recorded for the job: one more after the kill means it was driven again. */
async function sliceCount(jobId: string): Promise<number> {
  const [row] = await sql`select count(*)::int as n from engine.slice_ends where task_id = ${jobId}`;
  return row.n as number;
}

/** Rows the target holds in the cloned schema's tables. */
async function targetRowCount(url: string): Promise<number> {
  const fingerprint = await schemaFingerprint(url, SCHEMA);
  return Object.values(fingerprint as Record<string, { rows: number }>).reduce((sum, t) => sum + t.rows, 0);
}
