import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  connect,
  createUser,
  invoke,
  type Sql,
  type TestUser,
  waitFor,
  waitForStatus,
} from "../support/stack.ts";

let sql: Sql;
let user: TestUser;

beforeAll(async () => {
  sql = connect();
  user = await createUser(sql);
});
afterAll(() => sql.end());

async function start(kind: string, payload: object, extra: object = {}) {
  const response = await invoke("engine-probe", { action: "start", kind, payload, ...extra }, {
    token: user.token,
  });
  expect(response.status).toBe(202);
  return response.json.taskId as string;
}

describe("retries", () => {
  it("retries a failing task with growing backoff until it succeeds", async () => {
    const id = await start("probe.flaky", { failTimes: 2 }, { maxAttempts: 5, backoffBaseMs: 300 });
    const done = await waitForStatus(sql, id, ["succeeded", "failed"]);
    expect(done.status).toBe("succeeded");
    expect(done.attempts).toBe(2);
    expect(done.result).toEqual({ succeededAfter: 2 });
    expect(done.last_error.message).toBe("planned failure 2");
  });

  it("fails for good after max attempts and keeps the last error", async () => {
    const id = await start("probe.flaky", { failTimes: 10 }, { maxAttempts: 3, backoffBaseMs: 100 });
    const done = await waitForStatus(sql, id, ["succeeded", "failed"]);
    expect(done.status).toBe("failed");
    expect(done.attempts).toBe(3);
    expect(done.last_error).toMatchObject({ code: "task_error", message: "planned failure 3" });
  });

  it("does not retry a permanent error", async () => {
    const id = await start("probe.flaky", { permanent: true }, { maxAttempts: 5 });
    const done = await waitForStatus(sql, id, ["succeeded", "failed"]);
    expect(done.status).toBe("failed");
    expect(done.attempts).toBe(1);
    expect(done.last_error.code).toBe("probe_refused");
  });

  it("spreads retry delays exponentially with jitter", async () => {
    const [{ id }] = await sql`
      select id from engine.enqueue_task(p_user_id => ${user.id}, p_kind => 'backoff.shape', p_function => null,
        p_dispatch => false, p_max_attempts => 10, p_backoff_base_ms => 1000)`;
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      await sql`update public.background_tasks set run_after = now() where id = ${id}`;
      const [task] = await sql`select fencing_token from engine.claim_task(${id}, 'w', 30)`;
      // One transaction, so now() is the instant fail_task scheduled from: the delay read back is
      // the one it chose, however long the machine pauses between statements.
      const delay = await sql.begin(async (tx) => {
        await tx`select engine.fail_task(${id}, ${task.fencing_token}::bigint, '{"code":"x","message":"x"}', true)`;
        const [row] = await tx`
          select extract(epoch from run_after - now()) * 1000 as delay from public.background_tasks where id = ${id}`;
        return Number(row.delay);
      });
      delays.push(delay);
    }
    delays.forEach((delay, i) => {
      const full = 1000 * 2 ** i;
      expect(delay).toBeGreaterThanOrEqual(full * 0.5);
      expect(delay).toBeLessThanOrEqual(full);
    });
  });

  // A second update of a row its transaction already wrote makes Postgres check the row's foreign
  // keys again, key-share locking the owner's auth.users row: here held by an account deletion.
  it("writes a failed attempt in one update, taking no lock on its owner's account", async () => {
    const owner = await createUser(sql);
    const claimed = [];
    for (const retryable of [true, false]) {
      const [{ id }] = await sql`
        select id from engine.enqueue_task(p_user_id => ${owner.id}, p_kind => 'fail.once', p_function => null,
          p_dispatch => false, p_max_attempts => 3)`;
      const [task] = await sql`select fencing_token from engine.claim_task(${id}, 'w', 30)`;
      claimed.push({ id, token: task.fencing_token, retryable, outcome: retryable ? "queued" : "failed" });
    }
    const deletion = await sql.reserve();
    try {
      await deletion`begin`;
      await deletion`select from auth.users where id = ${owner.id} for update`;
      for (const { id, token, retryable, outcome } of claimed) {
        // Waiting for the deletion would end in this error, not in a hang.
        const [row] = await sql.begin(async (tx) => {
          await tx`set local lock_timeout = '5s'`;
          return await tx`
            select engine.fail_task(${id}, ${token}::bigint, '{"code":"x","message":"x"}', ${retryable}) as outcome`;
        });
        expect(row.outcome).toBe(outcome);
        const [after] =
          await sql`select status, attempts, lease_owner from public.background_tasks where id = ${id}`;
        expect(after).toEqual({ status: outcome, attempts: 1, lease_owner: null });
      }
    } finally {
      await deletion`rollback`;
      deletion.release();
    }
  });
});

describe("cancellation", () => {
  it("stops a running task: its worker is fenced out and writes nothing more", async () => {
    const id = await start("probe.append", { units: 200, unitMs: 100 });
    await waitFor(async () => {
      const [{ n }] = await sql`select count(*)::int as n from public.probe_units where task_id = ${id}`;
      return n >= 3;
    }, { what: "a few units to be applied" });
    const cancel = await invoke("engine-probe", { action: "cancel", taskId: id }, { token: user.token });
    expect(cancel.status).toBe(200);
    expect(cancel.json.task.status).toBe("cancelled");
    const [{ n: atCancel }] =
      await sql`select count(*)::int as n from public.probe_units where task_id = ${id}`;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const [{ n: later }] = await sql`select count(*)::int as n from public.probe_units where task_id = ${id}`;
    expect(later).toBe(atCancel); // at most the unit in flight at cancel time was refused, none added
    expect((await sql`select status from public.background_tasks where id = ${id}`)[0].status).toBe(
      "cancelled",
    );
    const again = await invoke("engine-probe", { action: "cancel", taskId: id }, { token: user.token });
    expect(again.status).toBe(409);
  });
});

describe("fan-out and fan-in", () => {
  it("wakes the parent once every child has ended and gives it their outcomes", async () => {
    const id = await start("probe.parent", { children: 4, childUnits: 2 });
    const done = await waitForStatus(sql, id, ["succeeded", "failed"]);
    expect(done.status).toBe("succeeded");
    expect(done.result.children).toHaveLength(4);
    expect(done.result.children.every((c: { status: string }) => c.status === "succeeded")).toBe(true);
    const children = await sql`select status, user_id from public.background_tasks where parent_id = ${id}`;
    expect(children).toHaveLength(4);
    expect(children.every((c) => c.user_id === user.id)).toBe(true);
  });

  it("cancels the children when the parent is cancelled", async () => {
    const id = await start("probe.parent", { children: 2, childUnits: 500, childUnitMs: 50 });
    await waitFor(
      async () => (await sql`select 1 from public.background_tasks where parent_id = ${id}`).length === 2,
      { what: "children" },
    );
    await invoke("engine-probe", { action: "cancel", taskId: id }, { token: user.token });
    const children = await sql`select status from public.background_tasks where parent_id = ${id}`;
    expect(children.map((c) => c.status)).toEqual(["cancelled", "cancelled"]);
  });
});

describe("resume after a cancel", () => {
  it("resumes the children the cancel cut off with their parent, not one cancelled before it", async () => {
    const id = await start("probe.parent", { children: 2, childUnits: 100, childUnitMs: 50 });
    const children = () =>
      sql<{ id: string; status: string }[]>`
        select id, status from public.background_tasks where parent_id = ${id} order by created_at, id`;
    await waitFor(async () => (await children()).length === 2, { what: "children" });
    const [earlier, cutOff] = await children();
    // One child cancelled on its own first: the parent goes on without it, as it would after a failure.
    await sql`select engine.cancel_task(${earlier.id}, 'cancelled on its own')`;
    expect((await invoke("engine-probe", { action: "cancel", taskId: id }, { token: user.token })).status)
      .toBe(200);
    expect((await children()).map((c) => c.status)).toEqual(["cancelled", "cancelled"]);
    const resumed = await invoke("engine-probe", { action: "resume", taskId: id }, { token: user.token });
    expect(resumed.status, resumed.text).toBe(202);
    const done = await waitForStatus(sql, id, ["succeeded", "failed"]);
    expect(done.status).toBe("succeeded");
    const outcomes = Object.fromEntries((await children()).map((c) => [c.id, c.status]));
    expect(outcomes).toEqual({ [earlier.id]: "cancelled", [cutOff.id]: "succeeded" });
  });
});

describe("per-key concurrency cap", () => {
  it("never runs more tasks under one key than its cap, and runs them all", async () => {
    const key = `provider:test-${crypto.randomUUID()}`;
    await sql`insert into engine.concurrency_limits (concurrency_key, max_running) values (${key}, 2)`;
    const ids = await Promise.all(
      Array.from({ length: 6 }, () => start("probe.hold", { holdMs: 700 }, { concurrencyKey: key })),
    );
    for (const id of ids) {
      expect((await waitForStatus(sql, id, ["succeeded", "failed"])).status).toBe("succeeded");
    }
    const runs = await sql`select started_at, ended_at from public.probe_runs where concurrency_key = ${key}`;
    expect(runs).toHaveLength(6);
    // At any run's start, count the runs overlapping it: never above the cap.
    const maxOverlap = Math.max(
      ...runs.map((a) =>
        runs.filter((b) => b.started_at <= a.started_at && b.ended_at > a.started_at).length
      ),
    );
    expect(maxOverlap).toBeLessThanOrEqual(2);
    expect(maxOverlap).toBe(2); // and the cap was actually used
  });
});
