import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTargetDatabase, loadDataset, schemaFingerprint } from "../support/clone-db.ts";
import {
  admin,
  connect,
  connectAsAdmin,
  createOperatorUser,
  createUser,
  invoke,
  sleep,
  type Sql,
  stackEnv,
  type TestUser,
  waitFor,
  waitForStatus,
} from "../support/stack.ts";
import { ensureBucket, stackStorage } from "../support/stack-storage.ts";

const SCHEMA = "clone_small";
const RESUME_SCHEMA = "clone_resume";

let sql: Sql;
let owner: TestUser;
let otherOperator: TestUser;
let stranger: TestUser;
const targets: Array<{ drop(): Promise<void> }> = [];

async function newTarget() {
  const target = await createTargetDatabase();
  targets.push(target);
  return target;
}

const clone = (body: Record<string, unknown>, user: TestUser = owner) =>
  invoke("clone-database", body, { token: user.token });

/** How many clone jobs exist: a refused start must not add one. */
const cloneJobs = async () =>
  (await sql`select count(*)::int as n from public.background_tasks where kind = 'clone.database'`)[0]
    .n as number;

/** A start of `schemas` into a new target that is refused: its answer, once it is sure no job was made. */
async function refusedStart(schemas: string[]) {
  const target = await newTarget();
  const before = await cloneJobs();
  const response = await clone({ action: "start", targetUrl: target.url, options: { schemas } });
  expect(await cloneJobs()).toBe(before);
  return response;
}

beforeAll(async () => {
  sql = connect();
  owner = await createOperatorUser();
  otherOperator = await createOperatorUser();
  stranger = await createUser(sql);
  loadDataset(SCHEMA, 3000);
  await admin("config", { env: { REELFORGE_LEASE_SECONDS: "3" } });
  await admin("workers/kill", { function: "clone-database" });
}, 120_000);

afterAll(async () => {
  await admin("config", { env: { REELFORGE_LEASE_SECONDS: null } });
  for (const target of targets) await target.drop();
  await sql.unsafe(`drop schema if exists ${SCHEMA} cascade`);
  await sql.unsafe(`drop schema if exists ${RESUME_SCHEMA} cascade`);
  await sql.end();
});

describe("clone-database", () => {
  let finishedJob: string;
  let finishedTarget: { url: string };

  it("clones a schema into an empty database, verifies it, and never shows the password", async () => {
    const target = await newTarget();
    const start = await clone({ action: "start", targetUrl: target.url, options: { schemas: [SCHEMA] } });
    expect(start.status).toBe(202);
    expect(start.text).not.toContain(":postgres@");
    const jobId = start.json.jobId;
    const done = await waitForStatus(sql, jobId, ["succeeded", "failed"], 120_000);
    expect(done.last_error).toBeNull();
    expect(done.status).toBe("succeeded");

    // taskId, as at every function; jobId, the clone's users' word, is an alias: both in, both out.
    expect(start.json.taskId).toBe(jobId);
    const status = await clone({ action: "status", taskId: jobId });
    expect(status.status).toBe(200);
    const job = status.json.job;
    expect([job.taskId, job.jobId]).toEqual([jobId, jobId]);
    expect((await clone({ action: "status", jobId })).json.job.taskId).toBe(jobId);
    const disagreeing = await clone({ action: "status", taskId: jobId, jobId: crypto.randomUUID() });
    expect([disagreeing.status, disagreeing.json.error.code]).toEqual([400, "invalid_request"]);
    expect(job.completedPhases).toEqual(["preflight", "types", "schema", "data", "post_data", "verify"]);
    expect(job.rows.copied).toBe(job.rows.total);
    expect(job.rows.copied).toBeGreaterThan(30_000);
    expect(job.tables.find((t: { table: string }) => t.table === `${SCHEMA}.logs`)).toMatchObject({
      done: true,
    });
    expect(job.target).toContain("****");
    expect(status.text).not.toContain(":postgres@");
    // The stored target is encrypted, not merely masked.
    const [row] =
      await sql`select metadata::text as metadata from public.background_tasks where id = ${jobId}`;
    expect(row.metadata).not.toContain(target.url);
    expect(row.metadata).not.toContain(":postgres@");

    expect(await schemaFingerprint(target.url, SCHEMA)).toEqual(
      await schemaFingerprint(stackEnv().DB_URL, SCHEMA),
    );
    finishedJob = jobId;
    finishedTarget = target;
  });

  it("refuses a target that already holds what the clone would create", async () => {
    const response = await clone({
      action: "start",
      targetUrl: finishedTarget.url,
      options: { schemas: [SCHEMA] },
    });
    expect(response.status).toBe(409);
    expect(response.json.error.code).toBe("target_not_empty");
  });

  it("restarts a job from zero: drops what it made on the target and clones again", async () => {
    const response = await clone({ action: "restart", jobId: finishedJob });
    expect(response.status).toBe(202);
    expect(response.json.droppedObjects).toBeGreaterThan(10);
    const done = await waitForStatus(sql, finishedJob, ["succeeded", "failed"], 120_000);
    expect(done.status).toBe("succeeded");
    expect(await schemaFingerprint(finishedTarget.url, SCHEMA)).toEqual(
      await schemaFingerprint(stackEnv().DB_URL, SCHEMA),
    );
  });

  it("refuses the project's own database as the target", async () => {
    const response = await clone({
      action: "start",
      targetUrl: stackEnv().DB_URL,
      options: { schemas: [SCHEMA] },
    });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe("target_is_source");
  });

  it.each([
    ["not a URL", "nope"],
    ["a non-Postgres scheme", "mysql://u:p@127.0.0.1/db"],
    ["a URL without a database", "postgresql://u:p@127.0.0.1:5432/"],
  ])("refuses %s with a 400 and creates no job", async (_label, targetUrl) => {
    const before =
      (await sql`select count(*)::int as n from public.background_tasks where user_id = ${owner.id}`)[0].n;
    const response = await clone({ action: "start", targetUrl });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe("invalid_target_url");
    const after =
      (await sql`select count(*)::int as n from public.background_tasks where user_id = ${owner.id}`)[0].n;
    expect(after).toBe(before);
  });

  it("refuses a target it cannot connect to with a 422 naming host, port and reason, and creates no job", async () => {
    // 6543 is an allowed port (the pooler's) with nothing listening on this machine's loopback.
    // A job losing its target later: clone-unreachable.test.ts.
    const before =
      (await sql`select count(*)::int as n from public.background_tasks where user_id = ${owner.id}`)[0].n;
    const start = await clone({
      action: "start",
      targetUrl: "postgresql://postgres:pw@127.0.0.1:6543/postgres",
      options: { schemas: [SCHEMA] },
    });
    expect(start.status, start.text).toBe(422);
    expect(start.json.error).toEqual({
      code: "target_unreachable",
      message: expect.stringContaining("cannot connect to the target at 127.0.0.1:6543: connection refused"),
    });
    expect(start.text).not.toContain(":pw@");
    const after =
      (await sql`select count(*)::int as n from public.background_tasks where user_id = ${owner.id}`)[0].n;
    expect(after).toBe(before);
  });

  it("refuses a target that does not let the clone in (wrong password) before creating a job", async () => {
    const target = await newTarget();
    const wrong = new URL(target.url);
    wrong.password = "not-the-password";
    const start = await clone({ action: "start", targetUrl: wrong.href, options: { schemas: [SCHEMA] } });
    expect(start.status, start.text).toBe(422);
    expect(start.json.error.code).toBe("target_unreachable");
    expect(start.json.error.message).toContain(`${wrong.host}: authentication failed`);
    expect(start.text).not.toContain("not-the-password");
  });

  it(
    "keeps the resume contract: 404 unknown, 403 stranger, 409 while active, fromTable after a kill",
    async () => {
      expect((await clone({ action: "resume", jobId: crypto.randomUUID() })).status).toBe(404);
      // A table big enough for its copy to be seen in flight: the small dataset's whole clone took
      // 2.4 s in one fresh run, and no status call caught it copying (the wait below timed out).
      await sql.unsafe(`
        drop schema if exists ${RESUME_SCHEMA} cascade;
        create schema ${RESUME_SCHEMA};
        create table ${RESUME_SCHEMA}.takes (id bigint primary key, note text not null);
        insert into ${RESUME_SCHEMA}.takes select g, md5(g::text) || md5((g + 1)::text) from generate_series(1, 400000) g;
        analyze ${RESUME_SCHEMA}.takes;`);
      const target = await newTarget();
      const start = await clone({
        action: "start",
        targetUrl: target.url,
        options: { schemas: [RESUME_SCHEMA] },
      });
      const jobId = start.json.jobId;
      for (const action of ["status", "resume", "restart", "cancel"]) {
        const response = await clone({ action, jobId }, stranger);
        expect(response.status).toBe(403);
        expect(response.json.error.code).toBe("operator_only");
      }
      // Operators are one admin team: any of them may follow (and act on) any clone job.
      expect((await clone({ action: "status", jobId }, otherOperator)).status).toBe(200);
      // Wait until it is copying rows, then it is active: resume is refused.
      await waitFor(async () => (await clone({ action: "status", jobId })).json.job.currentTable, {
        what: "a table being copied",
        everyMs: 20,
      });
      const active = await clone({ action: "resume", jobId });
      expect(active.status).toBe(409);
      expect(active.json.error.message).toBe("Job still active, wait a moment");

      await admin("workers/kill", { function: "clone-database" });
      // Keep the sweeper from re-driving it first (as if cron had not run yet): this test is about
      // the manual resume a UI offers.
      await sql`update public.background_tasks set dispatched_at = now() + interval '1 hour' where id = ${jobId}`;
      const stale = await waitFor(async () => {
        const { job } = (await clone({ action: "status", jobId })).json;
        return job.isStale ? job : null;
        // Its lease (REELFORGE_LEASE_SECONDS, 30 s, renewed every 10 s) runs out at most 30 s after the
        // kill, whether or not the sweeper saw the holder's liveness lock go first: 20 s missed it
        // when the last renewal came just before the kill.
      }, { what: "the job to look stale", timeoutMs: 45_000 });
      const resumed = await clone({ action: "resume", jobId });
      expect(resumed.status).toBe(202);
      // It resumes from the checkpoint the status showed (the table in flight, when in the data phase).
      expect(resumed.json).toEqual({ resumed: true, fromTable: stale.currentTable, phase: stale.phase });
      const done = await waitForStatus(sql, jobId, ["succeeded", "failed"], 120_000);
      expect(done.status).toBe("succeeded");
    },
    240_000,
  );

  it(
    "copies storage buckets and objects into the target project with their content type and cache control",
    async () => {
      const env = stackEnv();
      const storage = stackStorage();
      const bucket = `clone-e2e-${crypto.randomUUID().slice(0, 8)}`;
      await ensureBucket(bucket, { public: true });
      const poster = new TextEncoder().encode("not really a png, but bytes all the same");
      await storage.upload(bucket, "films/day 1 (take=2)/poster.png", poster, {
        contentType: "image/png",
        cacheControl: "3600",
        upsert: true,
      });
      await storage.upload(bucket, "notes.txt", new TextEncoder().encode("hola"), {
        contentType: "text/plain",
        upsert: true,
      });

      // The clone copies every bucket and verifies each object. A film an earlier test file left
      // producing writes into `media` meanwhile, and verify rightly finds objects the copy never
      // saw: wait until no film work has moved for 20 s. (Rows other files left `running` on
      // purpose, with nobody to run them, never move and write nothing.)
      await waitFor(async () => {
        const [{ n }] = await sql`
        select count(*)::int as n from public.background_tasks
         where status in ('queued', 'running', 'waiting')
           and (kind like 'film.%' or kind like 'asset.%' or kind in ('render', 'local_media'))
           and updated_at > now() - interval '20 seconds'`;
        return n === 0;
      }, {
        timeoutMs: 150_000,
        everyMs: 500,
        what: "the stack's film work to end before its Storage is cloned",
      });

      const project = `clone-target-${crypto.randomUUID().slice(0, 8)}`;
      const targetStorage = {
        url: `${env.API_URL}/_projects/${project}`,
        serviceRoleKey: env.SERVICE_ROLE_KEY,
      };
      const target = await newTarget();
      const start = await clone({
        action: "start",
        targetUrl: target.url,
        options: { schemas: [SCHEMA], includeData: false, includeStorage: true, targetStorage },
      });
      expect(start.status).toBe(202);
      const done = await waitForStatus(sql, start.json.jobId, ["succeeded", "failed"], 120_000);
      expect(done.last_error).toBeNull();
      expect(done.status).toBe("succeeded");
      const { job } = (await clone({ action: "status", jobId: start.json.jobId })).json;
      expect(job.completedPhases).toContain("storage");
      expect(job.storage.objectsCopied).toBeGreaterThanOrEqual(2);
      expect(JSON.stringify(job)).not.toContain(env.SERVICE_ROLE_KEY);

      const copied = await fetch(
        `${env.API_URL}/_projects/${project}/storage/v1/object/public/${bucket}/films/${
          encodeURIComponent("day 1 (take=2)")
        }/poster.png`,
      );
      expect(copied.status).toBe(200);
      expect(copied.headers.get("content-type")).toBe("image/png");
      expect(copied.headers.get("cache-control")).toContain("3600");
      expect(new Uint8Array(await copied.arrayBuffer())).toEqual(poster);
    },
    240_000,
  );

  it("refuses every action to a signed-in user who is not an operator, creating nothing", async () => {
    const target = await newTarget();
    const before = await cloneJobs();
    const start = await clone(
      { action: "start", targetUrl: target.url, options: { schemas: [SCHEMA] } },
      stranger,
    );
    expect(start.status).toBe(403);
    expect(start.json.error.code).toBe("operator_only");
    const after = await cloneJobs();
    expect(after).toBe(before);
    for (const action of ["status", "resume", "restart", "cancel"]) {
      const response = await clone({ action, jobId: crypto.randomUUID() }, stranger);
      expect(response.status).toBe(403); // not 404: a non-operator learns nothing about job ids
      expect(response.json.error.code).toBe("operator_only");
    }
    // Nor what a start takes: the caller is checked before the input.
    const malformed = await clone({ action: "start", targetUrl: 42 }, stranger);
    expect(malformed.status).toBe(403);
    expect(malformed.json.error.code).toBe("operator_only");
  });

  it("refuses a table whose partitions are in a schema not cloned, naming them, and starts nothing", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const [parent, other] = [`parts_${tag}`, `parts_old_${tag}`];
    await sql.unsafe(`
      create schema ${parent}; create schema ${other};
      create table ${parent}.events (id int, at date not null) partition by range (at);
      create table ${parent}.events_new partition of ${parent}.events for values from ('2026-01-01') to (maxvalue);
      create table ${other}.events_old partition of ${parent}.events for values from (minvalue) to ('2026-01-01');
      insert into ${parent}.events select i, date '2025-06-01' + i from generate_series(1, 300) i;`);
    try {
      // Before: the job succeeded with the rows of events_new only, and nothing said so.
      const response = await refusedStart([parent]);
      expect(response.status, response.text).toBe(400);
      expect(response.json.error.code).toBe("schema_incomplete");
      expect(response.json.error.message).toContain(`${other}.events_old (of ${parent}.events)`);
      expect(response.json.error.details).toEqual({ schemas: [other] });
    } finally {
      await sql.unsafe(`drop schema ${parent} cascade; drop schema ${other} cascade`);
    }
  });

  it("refuses platform, extension-owned and Reelforge-internal schemas, naming each", async () => {
    const owned = `ext_owned_${crypto.randomUUID().slice(0, 8).replaceAll("-", "")}`;
    await sql.unsafe(`create schema ${owned}`);
    // Makes the schema a member of an extension, as an extension's own install script would: as
    // the extension's owner, supabase_admin, the platform's role (postgres may not, here or hosted).
    const platform = connectAsAdmin();
    await platform.unsafe(`alter extension pgcrypto add schema ${owned}`);
    try {
      const response = await refusedStart(
        ["public", "auth", "storage", "vault", "engine", "asset_admin", "pg_temp_3", owned],
      );
      expect(response.status).toBe(400);
      expect(response.json.error.code).toBe("schema_not_allowed");
      for (const schema of ["auth", "storage", "vault", "engine", "asset_admin", "pg_temp_3", owned]) {
        expect(response.json.error.message).toContain(schema);
      }
      expect(response.json.error.message).toContain(`${owned} (owned by extension pgcrypto)`);
      expect([...response.json.error.details.schemas].sort()).toEqual(
        ["asset_admin", "auth", "engine", owned, "pg_temp_3", "storage", "vault"].sort(),
      );
    } finally {
      await platform.unsafe(`alter extension pgcrypto drop schema ${owned}`);
      await platform.end();
      await sql.unsafe(`drop schema ${owned}`);
    }
  });

  it("refuses includeStorage without the target project's Storage API", async () => {
    const target = await newTarget();
    const response = await clone({
      action: "start",
      targetUrl: target.url,
      options: { schemas: [SCHEMA], includeStorage: true },
    });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe("target_storage_required");
  });

  it("cancels a running job and refuses to cancel it twice", async () => {
    const target = await newTarget();
    const start = await clone({ action: "start", targetUrl: target.url, options: { schemas: [SCHEMA] } });
    const jobId = start.json.jobId;
    const cancel = await clone({ action: "cancel", jobId });
    expect(cancel.status).toBe(200);
    expect(cancel.json.job.status).toBe("cancelled");
    expect((await clone({ action: "cancel", jobId })).status).toBe(409);
    await sleep(1000);
    expect((await sql`select status from public.background_tasks where id = ${jobId}`)[0].status).toBe(
      "cancelled",
    );
  });
});
