/**
 * The local stack's gateway behaves like Supabase's edge gateway where our code depends on it:
 * JWT verification, CORS left to the functions, 546 for killed workers, pg_net delivery after
 * commit, public storage. The other platform limits are in platform-limits.test.ts.
 * Needs a running stack (`npm run stack:start`).
 */
import type { TransactionSql } from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signJwt } from "../../scripts/stack/jwt.ts";
import { admin, connect, type Sql, stackEnv, waitFor } from "../support/stack.ts";

const env = stackEnv();
const echoUrl = `${env.API_URL}/functions/v1/echo`;
const anonHeaders = { authorization: `Bearer ${env.ANON_KEY}` };

interface WorkerSummary {
  function: string;
  pid: number;
  inFlight: number;
}

async function echoWorkers(): Promise<WorkerSummary[]> {
  return ((await admin("workers")).live as WorkerSummary[]).filter((worker) => worker.function === "echo");
}

describe("functions gateway", () => {
  it("rejects a request without an Authorization header", async () => {
    const response = await fetch(echoUrl, { method: "POST", headers: { origin: "https://app.example" } });
    expect(response.status).toBe(401);
    // A platform error, not the function's answer: no CORS headers, as on hosted.
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    expect(await response.json()).toEqual({ code: 401, message: "Missing authorization header" });
  });

  it("rejects a JWT signed with another secret, an expired JWT and a malformed one", async () => {
    const tokens = [
      await signJwt(
        { role: "anon", exp: Math.floor(Date.now() / 1000) + 60 },
        "another-secret-that-is-at-least-32-chars",
      ),
      await signJwt({ role: "anon", exp: Math.floor(Date.now() / 1000) - 1 }, env.JWT_SECRET),
      "not-a-jwt",
    ];
    for (const token of tokens) {
      const response = await fetch(echoUrl, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ code: 401, message: "Invalid JWT" });
    }
  });

  it("forwards method, path without /functions/v1, query, headers and body to the function", async () => {
    const response = await fetch(`${echoUrl}/tasks/42?x=1`, {
      method: "PUT",
      headers: { ...anonHeaders, "content-type": "application/json", "x-reelforge-test": "yes" },
      body: JSON.stringify({ hello: "world" }),
    });
    expect(response.status).toBe(200);
    // The echo fixture sets no CORS headers, and the gateway adds none to a function's answer.
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    const echoed = await response.json();
    expect(echoed).toMatchObject({
      method: "PUT",
      path: "/echo/tasks/42",
      query: { x: "1" },
      body: JSON.stringify({ hello: "world" }),
      hasEdgeRuntime: true,
    });
    expect(echoed.headers).toMatchObject({
      authorization: anonHeaders.authorization,
      "x-reelforge-test": "yes",
    });
  });

  it("forwards a CORS preflight to the function without asking for a JWT", async () => {
    const response = await fetch(echoUrl, { method: "OPTIONS", headers: { origin: "https://app.example" } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ method: "OPTIONS", path: "/echo" });
  });

  it("lets a function's own CORS answer its preflight and its requests", async () => {
    const preflight = await fetch(`${env.API_URL}/functions/v1/produce-movie`, {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-headers")).toContain("authorization");
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    await preflight.body?.cancel();

    const refused = await fetch(`${env.API_URL}/functions/v1/produce-movie`, {
      method: "POST",
      headers: { origin: "https://app.example", "content-type": "application/json" },
      body: JSON.stringify({ action: "status" }),
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe("*");
    await refused.body?.cancel();
  });

  it("answers 404 NOT_FOUND for a function that does not exist, without CORS headers", async () => {
    const response = await fetch(`${env.API_URL}/functions/v1/no-such-function`, {
      headers: { ...anonHeaders, origin: "https://app.example" },
    });
    expect(response.status).toBe(404);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    expect(await response.json()).toEqual({ code: "NOT_FOUND", message: "Requested function was not found" });
  });

  it("keeps the admin endpoints for the service role key", async () => {
    const response = await fetch(`${env.API_URL}/_stack/workers`, { headers: anonHeaders });
    expect(response.status).toBe(401);
    await response.body?.cancel();
  });
});

describe("worker limits", () => {
  let wallClockBefore: number;

  beforeAll(async () => {
    wallClockBefore = ((await admin("config")) as { wallClockMs: number }).wallClockMs;
  });

  afterAll(async () => {
    await admin("config", { wallClockMs: wallClockBefore });
    await admin("workers/kill", { function: "echo" });
  });

  it("answers an in-flight request 546 at once when its worker is killed, and boots a new worker", async () => {
    const slow = fetch(`${echoUrl}?sleep=20000`, { headers: anonHeaders });
    const [busy] = await waitFor(async () => {
      const workers = await echoWorkers();
      return workers.some((worker) => worker.inFlight > 0)
        ? workers.filter((worker) => worker.inFlight > 0)
        : null;
    }, { timeoutMs: 15_000, what: "the slow request to reach an echo worker" });

    const { killed } = (await admin("workers/kill", { function: "echo" })) as { killed: WorkerSummary[] };
    expect(killed.map((worker) => worker.pid)).toContain(busy.pid);

    // Answered by the kill (a request the worker finished would be 200), not by a timeout.
    const response = await slow;
    expect(response.status).toBe(546);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    expect(await response.json()).toMatchObject({ code: "WORKER_LIMIT" });

    const next = await fetch(echoUrl, { headers: anonHeaders });
    expect(next.status).toBe(200);
    expect((await next.json()).pid).not.toBe(busy.pid);
  });

  it("kills a worker when its wall clock runs out and answers its request 546", async () => {
    await admin("config", { wallClockMs: 2500 });
    await admin("workers/kill", { function: "echo" });

    const echoExits = async () =>
      ((await admin("workers")).exits as { function: string; reason: string }[]).filter((exit) =>
        exit.function === "echo"
      );
    const before = (await echoExits()).length;
    const response = await fetch(`${echoUrl}?sleep=10000`, { headers: anonHeaders });

    // The wall clock ended it (the request asked for 10 s; the worker had 2.5 s), not a kill or a crash.
    expect(response.status).toBe(546);
    // (The kill that cleared the pool may be recorded after `before` too.)
    const reasons = await waitFor(async () => {
      const since = (await echoExits()).slice(before).map((exit) => exit.reason);
      return since.includes("wall_clock") ? since : null;
    }, { timeoutMs: 10_000, what: "the echo worker's wall_clock exit" });
    expect(reasons.filter((reason) => reason !== "killed")).toEqual(["wall_clock"]);
  });

  it("gives workers spawned after a config change the new env, and drops a name set to null", async () => {
    await admin("config", { env: { REELFORGE_TEST_FLAG: "on" } });
    await admin("workers/kill", { function: "echo" });
    expect((await (await fetch(echoUrl, { headers: anonHeaders })).json()).testFlag).toBe("on");

    await admin("config", { env: { REELFORGE_TEST_FLAG: null } });
    await admin("workers/kill", { function: "echo" });
    expect((await (await fetch(echoUrl, { headers: anonHeaders })).json()).testFlag).toBeNull();
  });

  it("tells a worker its own wall clock", async () => {
    await admin("config", { wallClockMs: 45_000 });
    await admin("workers/kill", { function: "echo" });
    const response = await fetch(echoUrl, { headers: anonHeaders });
    expect((await response.json()).wallClockMs).toBe(45_000);
  });
});

describe("pg_net stand-in", () => {
  let sql: Sql;

  beforeAll(() => {
    sql = connect(2);
  });

  afterAll(async () => {
    await sql.end();
  });

  const postToEcho = (tx: Sql | TransactionSql, query: string, timeoutMs = 5000) =>
    tx`
    select net.http_post(
      url => ${`${echoUrl}?${query}`},
      body => '{"task_id": "t-1"}'::jsonb,
      headers => jsonb_build_object('Authorization', ${anonHeaders.authorization}::text, 'Content-Type', 'application/json'),
      timeout_milliseconds => ${timeoutMs}
    ) as id`;

  const responseFor = async (id: string) => {
    const [row] = await sql`select * from net._http_response where id = ${id}`;
    return row ?? null;
  };

  it("delivers a committed request and records the response", async () => {
    const [{ id }] = await postToEcho(sql, "from=pg_net");
    const row = await waitFor(() => responseFor(id), { timeoutMs: 5000, what: "the pg_net response" });
    expect(row).toMatchObject({ status_code: 200, timed_out: false, error_msg: null });
    expect(row.content_type).toContain("application/json");
    expect(JSON.parse(row.content)).toMatchObject({
      method: "POST",
      path: "/echo",
      body: '{"task_id": "t-1"}',
    });
  });

  it("never sends a request whose transaction rolled back", async () => {
    let rolledBackId = "";
    await sql.begin(async (tx) => {
      [{ id: rolledBackId }] = await postToEcho(tx, "from=rolled-back");
      throw new Error("roll back");
    }).catch(() => {});
    const [{ id: committedId }] = await postToEcho(sql, "from=after-rollback");

    await waitFor(() => responseFor(committedId), {
      timeoutMs: 5000,
      what: "the committed request's response",
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await responseFor(rolledBackId)).toBeNull();
  });

  it("does not let a slow response hold up the requests behind it", async () => {
    const [{ id: slowId }] = await postToEcho(sql, "sleep=3000");
    const [{ id: fastId }] = await postToEcho(sql, "from=fast");
    await waitFor(() => responseFor(fastId), { timeoutMs: 2500, what: "the fast response" });
    expect(await responseFor(slowId)).toBeNull();
    await waitFor(() => responseFor(slowId), { timeoutMs: 10_000, what: "the slow response" });
  });

  it("records a timeout when the endpoint answers after timeout_milliseconds", async () => {
    const [{ id }] = await postToEcho(sql, "sleep=3000", 300);
    const row = await waitFor(() => responseFor(id), { timeoutMs: 5000, what: "the timed-out response" });
    expect(row).toMatchObject({ status_code: null, timed_out: true });
  });
});

describe("public storage", () => {
  const bucket = "gateway-test";
  const folder = crypto.randomUUID();
  const content = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
  const objectUrl = `${env.API_URL}/storage/v1/object/public/${bucket}/${folder}/clip%201.mp4`;

  const service = { authorization: `Bearer ${env.SERVICE_ROLE_KEY}`, apikey: env.SERVICE_ROLE_KEY };

  beforeAll(async () => {
    // Other runs may have made the bucket already: a duplicate is fine.
    await (await fetch(`${env.API_URL}/storage/v1/bucket`, {
      method: "POST",
      headers: { ...service, "content-type": "application/json" },
      body: JSON.stringify({ id: bucket, name: bucket, public: true }),
    })).body?.cancel();
    const uploaded = await fetch(`${env.API_URL}/storage/v1/object/${bucket}/${folder}/clip%201.mp4`, {
      method: "POST",
      headers: { ...service, "content-type": "video/mp4" },
      body: content,
    });
    expect(uploaded.status).toBe(200);
    await uploaded.body?.cancel();
  });

  afterAll(async () => {
    await (await fetch(`${env.API_URL}/storage/v1/object/${bucket}`, {
      method: "DELETE",
      headers: { ...service, "content-type": "application/json" },
      body: JSON.stringify({ prefixes: [`${folder}/clip 1.mp4`] }),
    })).body?.cancel();
  });

  it("serves a stored object with the content type it was uploaded with", async () => {
    const response = await fetch(objectUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("video/mp4");
    expect(response.headers.get("accept-ranges")).toBe("bytes");
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(content);
  });

  it("serves byte ranges the way video players ask for them", async () => {
    const response = await fetch(objectUrl, { headers: { range: "bytes=100-199" } });
    expect(response.status).toBe(206);
    expect(response.headers.get("content-range")).toBe("bytes 100-199/1000");
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(content.subarray(100, 200));

    const tail = await fetch(objectUrl, { headers: { range: "bytes=-10" } });
    expect(tail.headers.get("content-range")).toBe("bytes 990-999/1000");
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(content.subarray(990));

    const beyond = await fetch(objectUrl, { headers: { range: "bytes=5000-" } });
    expect(beyond.status).toBe(416);
    await beyond.body?.cancel();
  });

  it("answers HEAD with the length and no body", async () => {
    const response = await fetch(objectUrl, { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-length")).toBe("1000");
  });

  it("answers a missing object as Storage does (400, statusCode 404) and refuses a path with '..'", async () => {
    const missing = await fetch(`${env.API_URL}/storage/v1/object/public/${bucket}/${folder}/nope.mp4`);
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ statusCode: "404", error: "not_found" });
    const escape = await fetch(
      `${env.API_URL}/storage/v1/object/public/${bucket}/x%2F..%2F..%2F..%2Fenv.json`,
    );
    expect(escape.status).toBe(400);
    await escape.body?.cancel();
  });
});
