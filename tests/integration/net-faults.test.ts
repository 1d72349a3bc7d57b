/**
 * The pg_net stand-in behaves as pg_net does (sent only after commit, timeouts recorded, responses
 * pruned after the TTL), and the task engine recovers when it drops or stalls doorbells.
 * Faults are switched through POST /_stack/net and switched off again after each test.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  admin,
  connect,
  createUser,
  type Sql,
  stackEnv,
  type TestUser,
  waitFor,
  waitForStatus,
} from "../support/stack.ts";

let sql: Sql;
let user: TestUser;
let receiver: { url: string; bodies: string[]; close(): Promise<void> };
let savedSettings: { redispatch_after_ms: number; dispatch_timeout_ms: number };

/** An HTTP server that answers 200 and remembers every body it got. */
async function startReceiver() {
  const bodies: string[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      bodies.push(body);
      response.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", () => done()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    bodies,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

beforeAll(async () => {
  sql = connect();
  user = await createUser(sql);
  receiver = await startReceiver();
  [savedSettings] = await sql`select redispatch_after_ms, dispatch_timeout_ms from engine.settings`;
});

afterEach(async () => {
  await admin("net", { drop: 0, stallMs: 0, ttlMs: 6 * 60 * 60 * 1000 });
  await sql`update engine.settings set redispatch_after_ms = ${savedSettings.redispatch_after_ms},
                                       dispatch_timeout_ms = ${savedSettings.dispatch_timeout_ms}`;
});

afterAll(async () => {
  await receiver.close();
  await sql.end();
});

async function responseOf(requestId: string | number) {
  const [row] =
    await sql`select status_code, timed_out, error_msg from net._http_response where id = ${requestId}`;
  return row;
}

async function enqueueProbe(units: number) {
  const [task] = await sql`
    select id, dispatch_request_id from engine.enqueue_task(p_user_id => ${user.id}, p_kind => 'probe.append',
      p_function => 'engine-probe', p_payload => ${sql.json({ units })}, p_dispatch => true)`;
  return task.id as string;
}

async function firstDoorbell(taskId: string): Promise<string> {
  return await waitFor(
    async () =>
      (await sql`select dispatch_request_id from public.background_tasks where id = ${taskId}`)[0]
        ?.dispatch_request_id,
    { what: "the task's first doorbell" },
  );
}

describe("the pg_net stand-in", () => {
  it("sends a request only once its transaction commits", async () => {
    const rolledBack = `rolled-back-${crypto.randomUUID()}`;
    const committed = `committed-${crypto.randomUUID()}`;
    let rolledBackId: string | null = null;
    await sql.begin(async (tx) => {
      [{ id: rolledBackId }] = await tx`select net.http_post(${receiver.url}, ${
        tx.json({ marker: rolledBack })
      }) as id`;
      throw new Error("roll back");
    }).catch((error) => expect(error.message).toBe("roll back"));
    const [{ id: committedId }] = await sql`select net.http_post(${receiver.url}, ${
      sql.json({ marker: committed })
    }) as id`;
    expect(BigInt(committedId)).toBeGreaterThan(BigInt(rolledBackId!));

    // Requests go out in id order: once the later one is answered, the earlier one had its chance.
    expect(
      (await waitFor(() => responseOf(committedId), { what: "the committed request's response" }))
        .status_code,
    ).toBe(200);
    expect(receiver.bodies.some((body) => body.includes(committed))).toBe(true);
    expect(receiver.bodies.some((body) => body.includes(rolledBack))).toBe(false);
    expect(await responseOf(rolledBackId!)).toBeUndefined();
  });

  it("refuses a Content-Type other than application/json and adds a missing one, as pg_net does", async () => {
    await expect(
      sql`select net.http_post(${receiver.url}, '{}'::jsonb, '{}'::jsonb, '{"Content-Type": "text/plain"}'::jsonb)`,
    )
      .rejects.toThrow(/Content-Type header must be "application\/json"/);
    await sql.begin(async (tx) => {
      const [{ id }] =
        await tx`select net.http_post(${receiver.url}, '{}'::jsonb, '{}'::jsonb, '{"X-Test": "1"}'::jsonb) as id`;
      const [queued] = await tx`select headers from net.http_request_queue where id = ${id}`;
      expect(queued.headers).toEqual({ "X-Test": "1", "Content-Type": "application/json" });
      throw new Error("roll back");
    }).catch((error) => expect(error.message).toBe("roll back"));
  });

  it("records a request held past its timeout as timed out, with no status", async () => {
    await admin("net", { stallMs: 60_000 });
    const [{ id }] =
      await sql`select net.http_post(${receiver.url}, '{"stalled":true}'::jsonb, timeout_milliseconds => 500) as id`;
    const row = await waitFor(() => responseOf(id), { what: "the stalled request's response" });
    expect(row).toMatchObject({ status_code: null, timed_out: true, error_msg: "Timeout of 500 ms reached" });
    expect(receiver.bodies.some((body) => body.includes('"stalled"'))).toBe(false);
  });

  it("takes fault settings only from the service role, and only in range", async () => {
    const post = (body: unknown, key: string) =>
      fetch(`${stackEnv().API_URL}/_stack/net`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await post({ drop: 1 }, stackEnv().ANON_KEY)).status).toBe(401);
    for (const bad of [{ drop: 1.5 }, { drop: -0.1 }, { stallMs: 2.5 }, { stallMs: -1 }, { ttlMs: 0 }, [1]]) {
      expect((await post(bad, stackEnv().SERVICE_ROLE_KEY)).status).toBe(400);
    }
    expect(await admin("net")).toMatchObject({
      drop: 0,
      stallMs: 0,
      batchSize: 200,
      ttlMs: 6 * 60 * 60 * 1000,
    });
  });

  it("prunes responses older than its TTL", async () => {
    const [{ id }] = await sql`select net.http_post(${receiver.url}, '{"pruned":true}'::jsonb) as id`;
    await waitFor(() => responseOf(id), { what: "the response" });
    await admin("net", { ttlMs: 1 });
    await waitFor(async () => (await responseOf(id)) === undefined, { what: "the response to be pruned" });
    expect(await responseOf(id)).toBeUndefined();
  });
});

describe("the sweeper against a faulty pg_net", () => {
  it("completes a task whose doorbells are dropped", async () => {
    await admin("net", { drop: 1 });
    const { dropped: droppedBefore } = await admin("net");
    const id = await enqueueProbe(3);
    const lost = await firstDoorbell(id);
    await waitFor(async () => (await admin("net")).dropped > droppedBefore, { what: "a dropped doorbell" });
    // From here on half of all doorbells (slice hand-offs too) are lost; the sweeper rings again,
    // here 2 s after a ring went unanswered rather than 15 (restored after the test): how many
    // are lost is chance, and each one cost the test a whole window.
    await sql`update engine.settings set redispatch_after_ms = 2000`;
    await admin("net", { drop: 0.5 });
    const done = await waitForStatus(sql, id, ["succeeded", "failed"], 240_000);
    expect(done.status).toBe("succeeded");
    const [{ units }] =
      await sql`select count(*)::int as units from public.probe_units where task_id = ${id}`;
    expect(units).toBe(3);
    expect(await responseOf(lost)).toBeUndefined();
  }, 300_000);

  it("rings again at once when a doorbell timed out, without waiting for the redispatch window", async () => {
    // Only ring_lost_doorbells can ring again within the next ten minutes.
    await sql`update engine.settings set redispatch_after_ms = 600000, dispatch_timeout_ms = 1000`;
    await admin("net", { stallMs: 60_000 });
    const id = await enqueueProbe(1);
    const stalled = await firstDoorbell(id);
    const timedOut = await waitFor(() => responseOf(stalled), { what: "the stalled doorbell's response" });
    expect(timedOut).toMatchObject({ status_code: null, timed_out: true });
    await admin("net", { stallMs: 0 });
    const done = await waitForStatus(sql, id, ["succeeded", "failed"], 120_000);
    expect(done.status).toBe("succeeded");
    expect(BigInt(done.dispatch_request_id)).toBeGreaterThan(BigInt(stalled));
  }, 180_000);
});
