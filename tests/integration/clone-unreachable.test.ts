/**
 * clone-database against targets where no PostgreSQL server answers, on this machine's loopback
 * (the stack trusts its network): one listener whose answer each test chooses — relay to the
 * stack's Postgres, never answer, or answer like an HTTP server and hang up (what made postgres.js
 * reconnect hundreds of times a second until the platform killed the worker) — and a port where
 * nothing listens. A start is refused with 422 target_unreachable within the probe's bound and
 * creates nothing; a job whose target stops answering is queued for a retry, not spun on, and
 * finishes once it answers again; a restart is refused while it does not, leaving the job as it was.
 */
import { connect as tcpConnect, createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TARGET_ANSWER_TIMEOUT_MS } from "../../shared/clone/target-probe.ts";
import { createTargetDatabase, loadDataset } from "../support/clone-db.ts";
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

const SCHEMA = "clone_unreachable";
const PASSWORD = "s3cret-target-pw";

type Answer = "relay" | "silent" | "http";

let sql: Sql;
let operator: TestUser;
let relay: Server;
let relayPort: number;
let answer: Answer = "relay";
const accepted: Record<Answer, number> = { relay: 0, silent: 0, http: 0 };
const open = new Set<Socket>();
let nothingListens: number;
const targets: Array<{ drop(): Promise<void> }> = [];

const dbPort = () => Number(new URL(stackEnv().DB_URL).port);
const clone = (body: Record<string, unknown>) => invoke("clone-database", body, { token: operator.token });
const targetUrl = (port: number) => `postgresql://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`;
/** `url` (a database of the stack's) reached through the relay. */
const throughRelay = (url: string) => {
  const relayed = new URL(url);
  relayed.port = String(relayPort);
  return relayed.href;
};
/** Clone jobs whose target is on `port`, whatever their state. */
const jobsFor = async (port: number) =>
  (await sql`select count(*)::int as n from public.background_tasks
              where kind = 'clone.database' and metadata -> 'clone' ->> 'targetMasked' like ${`%:${port}/%`}`)[
    0
  ]
    .n;
/** clone-database workers the platform killed for CPU since `since`. */
const cpuKills = async (since: number) =>
  ((await admin("workers")).exits as Array<{ function: string; reason: string; exitedAt: string }>)
    .filter((exit) =>
      exit.function === "clone-database" && exit.reason === "cpu_hard" && Date.parse(exit.exitedAt) >= since
    );

/** Relays to the stack's Postgres, or answers as `answer` says at the moment a connection comes in. */
function answering(client: Socket) {
  const mode = answer;
  accepted[mode]++;
  open.add(client);
  client.on("close", () => open.delete(client));
  client.on("error", () => {});
  if (mode === "silent") return;
  if (mode === "http") {
    client.once("data", () => client.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n"));
    return;
  }
  const upstream = tcpConnect(dbPort(), "127.0.0.1");
  upstream.on("error", () => client.destroy());
  upstream.on("close", () => client.destroy());
  client.on("close", () => upstream.destroy());
  client.pipe(upstream).pipe(client);
}

beforeAll(async () => {
  sql = connect(2);
  operator = await createOperatorUser();
  relay = createServer(answering);
  relayPort = await listen(relay);
  const closed = createServer();
  nothingListens = await listen(closed);
  await new Promise((resolve) => closed.close(resolve));
  await admin("config", {
    env: { REELFORGE_CLONE_ALLOWED_PORTS: `5432,6543,${dbPort()},${relayPort},${nothingListens}` },
  });
  await admin("workers/kill", { function: "clone-database" });
  // A worker up before the timed calls, so the bounds below measure the start, not a boot.
  expect((await clone({ action: "status", jobId: crypto.randomUUID() })).status).toBe(404);
  loadDataset(SCHEMA, 3000);
}, 120_000);

afterAll(async () => {
  await admin("config", { env: { REELFORGE_CLONE_ALLOWED_PORTS: null } });
  await admin("workers/kill", { function: "clone-database" });
  for (const socket of open) socket.destroy();
  relay.close();
  for (const target of targets) await target.drop();
  await sql.unsafe(`drop schema if exists ${SCHEMA} cascade`);
  await sql.end();
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** A start that must be refused with 422 target_unreachable (not the platform's 546 kill), creating no job. */
async function expectUnreachable(port: number, reason: string) {
  const jobsBefore = await jobsFor(port);
  const response = await clone({
    action: "start",
    targetUrl: targetUrl(port),
    options: { schemas: [SCHEMA] },
  });
  expect(response.status, response.text).toBe(422);
  expect(response.json.error.code).toBe("target_unreachable");
  expect(response.json.error.message).toContain(`127.0.0.1:${port}: ${reason}`);
  expect(response.text).not.toContain(PASSWORD);
  expect(await jobsFor(port)).toBe(jobsBefore);
}

describe("starting a clone into a target where no PostgreSQL server answers", () => {
  it("refuses a listener that accepts and never answers once the bound has passed, in one connection", async () => {
    answer = "silent";
    const before = accepted.silent;
    // The reason names the bound: the probe gave up on its timer, not on the driver's retries.
    await expectUnreachable(relayPort, `no answer within ${TARGET_ANSWER_TIMEOUT_MS / 1000} s`);
    expect(accepted.silent - before).toBe(1);
  });

  it("refuses a port where nothing listens at once, as connection refused", async () => {
    await expectUnreachable(nothingListens, "connection refused");
  });

  it("refuses a listener that answers like an HTTP server and hangs up, in one connection and without being killed", async () => {
    answer = "http";
    const since = Date.now();
    const before = accepted.http;
    await expectUnreachable(relayPort, "something answered, but not a PostgreSQL server");
    expect(accepted.http - before).toBe(1);
    expect(await cpuKills(since)).toEqual([]);
  });
});

describe("starting a clone whose sslmode the target cannot meet", () => {
  it("refuses a server without TLS when sslmode asks for it, in one connection, naming what to change", async () => {
    answer = "relay";
    const before = accepted.relay;
    const jobsBefore = await jobsFor(relayPort);
    const response = await clone({
      action: "start",
      targetUrl: `${targetUrl(relayPort)}?sslmode=require`,
      options: { schemas: [SCHEMA] },
    });
    // Before: postgres.js tried the handshake anyway, and the answer was a connection reset.
    expect(response.status, response.text).toBe(422);
    expect(response.json.error.code).toBe("target_refuses_tls");
    expect(response.json.error.message).toContain(`127.0.0.1:${relayPort} does not accept TLS connections`);
    expect(response.text).not.toContain(PASSWORD);
    expect(accepted.relay - before).toBe(1);
    expect(await jobsFor(relayPort)).toBe(jobsBefore);
  });

  it("refuses an sslmode libpq does not know, before connecting anywhere", async () => {
    const before = accepted.relay;
    const response = await clone({
      action: "start",
      targetUrl: `${targetUrl(relayPort)}?sslmode=verify_full`,
      options: { schemas: [SCHEMA] },
    });
    // Before: taken as verify-full.
    expect(response.status, response.text).toBe(400);
    expect(response.json.error.code).toBe("invalid_target_url");
    expect(response.json.error.message).toContain("sslmode is not one of disable, allow, prefer, require");
    expect(accepted.relay - before).toBe(0);
  });
});

describe("a clone job whose target stops answering", () => {
  let jobId: string;

  it("is queued for a retry, not spun on, while its target answers like an HTTP server, and finishes once it answers again", async () => {
    answer = "relay";
    const target = await createTargetDatabase("clone_unreachable");
    targets.push(target);
    const start = await clone({
      action: "start",
      targetUrl: throughRelay(target.url),
      options: { schemas: [SCHEMA] },
    });
    expect(start.status, start.text).toBe(202);
    jobId = start.json.jobId;
    // Stopped before it is through (a few seconds of copying), then resumed against a target gone bad.
    expect((await clone({ action: "cancel", jobId })).status).toBe(200);
    answer = "http";
    const since = Date.now();
    const before = accepted.http;
    expect((await clone({ action: "resume", jobId })).status).toBe(202);
    const retrying = await waitFor(async () => {
      const [row] =
        await sql`select status, attempts, last_error from public.background_tasks where id = ${jobId}`;
      return row.last_error?.code === "target_unreachable" ? row : null;
    }, { what: "the slice to find the target unreachable", timeoutMs: 30_000 });
    expect(retrying.status).not.toBe("failed");
    expect(retrying.last_error.retryable).toBe(true);
    const { job } = (await clone({ action: "status", jobId })).json;
    expect(job.lastError).toEqual({
      code: "target_unreachable",
      message: expect.stringContaining("Could not connect to the target database"),
    });
    expect(JSON.stringify(job)).not.toMatch(/HTTP|PostgreSQL server/);
    // A few attempts' probes, not the thousands postgres.js opened a second on its own.
    expect(accepted.http - before).toBeLessThan(20);
    expect(await cpuKills(since)).toEqual([]);

    // Waiting for its retry it goes on by itself, so a resume is refused (409); cancelled and then
    // resumed, it runs at once rather than after the backoff (the sweeper's business, tested with
    // the engine).
    answer = "relay";
    expect((await clone({ action: "resume", jobId })).status).toBe(409);
    expect((await clone({ action: "cancel", jobId })).status).toBe(200);
    expect((await clone({ action: "resume", jobId })).status).toBe(202);
    const done = await waitForStatus(sql, jobId, ["succeeded", "failed"], 60_000);
    expect(done.status).toBe("succeeded");
  });

  it("is not restarted while its target does not answer, and is left as it was", async () => {
    answer = "silent";
    const [before] = await sql`select status, fencing_token, updated_at from public.background_tasks
                                where id = ${jobId}`;
    const response = await clone({ action: "restart", jobId });
    expect(response.status, response.text).toBe(422);
    expect(response.json.error.code).toBe("target_unreachable");
    expect(response.json.error.message).toContain(`127.0.0.1:${relayPort}: no answer within`);
    expect(response.text).not.toContain(":postgres@");
    const [after] = await sql`select status, fencing_token, updated_at from public.background_tasks
                               where id = ${jobId}`;
    expect(after).toEqual(before);
    answer = "relay";
  });
});
