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

async function enqueueProbe(
  payload: object,
  dispatch: boolean,
  functionName: string | null = "engine-probe",
) {
  const [task] = await sql`
    select id from engine.enqueue_task(p_user_id => ${user.id}, p_kind => 'probe.append',
      p_function => ${functionName}, p_payload => ${sql.json(payload as never)}, p_dispatch => ${dispatch})`;
  return task.id as string;
}

describe("fencing", () => {
  it("refuses the checkpoint of a worker whose lease was taken over", async () => {
    // No worker function: nobody but this test claims it.
    const id = await enqueueProbe({ units: 1 }, false, null);
    const [first] = await sql`select fencing_token from engine.claim_task(${id}, 'zombie', 1)`;
    await sql`select pg_sleep(1.2)`;
    const [second] = await sql`select fencing_token from engine.claim_task(${id}, 'successor', 30)`;
    expect(BigInt(second.fencing_token)).toBeGreaterThan(BigInt(first.fencing_token));

    const [{ zombie }] = await sql`
      select engine.checkpoint_task(${id}, ${first.fencing_token}::bigint, '{"by":"zombie"}', 50, 30) as zombie`;
    expect(zombie).toBe(false);
    await expect(sql`select engine.complete_step(${id}, ${first.fencing_token}::bigint, 's', '{}')`)
      .rejects.toMatchObject({ code: "RF001" });
    const [{ zombieDone }] = await sql`
      select engine.complete_task(${id}, ${first.fencing_token}::bigint, '{}', '{}') as "zombieDone"`;
    expect(zombieDone).toBe(false);

    const [{ successor }] = await sql`
      select engine.checkpoint_task(${id}, ${second.fencing_token}::bigint, '{"by":"successor"}', 50, 30) as successor`;
    expect(successor).toBe(true);
    const [row] = await sql`select metadata, status from public.background_tasks where id = ${id}`;
    expect(row.metadata.by).toBe("successor");
    const steps = await sql`select * from public.background_task_steps where task_id = ${id}`;
    expect(steps).toHaveLength(0);
  });
});

describe("recovery without anyone clicking", () => {
  it("runs a task whose doorbell was lost (the sweeper rings again)", async () => {
    const id = await enqueueProbe({ units: 3 }, false);
    const done = await waitForStatus(sql, id, ["succeeded", "failed"], 90_000);
    expect(done.status).toBe("succeeded");
    const [{ units }] =
      await sql`select count(*)::int as units from public.probe_units where task_id = ${id}`;
    expect(units).toBe(3);
  });

  it("finishes a task whose worker died holding the lease", async () => {
    const id = await enqueueProbe({ units: 2 }, false);
    // A worker claims, then vanishes without a word: only its lease expiry tells.
    const [dead] = await sql`select fencing_token from engine.claim_task(${id}, 'dead-worker', 2)`;
    expect(dead.fencing_token).not.toBeNull();
    const done = await waitForStatus(sql, id, ["succeeded", "failed"], 90_000);
    expect(done.status).toBe("succeeded");
    expect(Number(done.fencing_token)).toBeGreaterThan(Number(dead.fencing_token));
  });
});

describe("liveness locks", () => {
  /** A "worker" with a connection of its own that claims the task for two minutes and watches the lease. */
  async function claimAndWatch(id: string) {
    const worker = connect(1);
    const [claimed] = await worker`select fencing_token from engine.claim_task(${id}, 'watched-worker', 120)`;
    const [{ held }] =
      await worker`select engine.hold_lease(${id}, ${claimed.fencing_token}::bigint) as held`;
    expect(held).toBe(true);
    return { worker, token: Number(claimed.fencing_token) };
  }

  it("leaves a watched task alone while its holder's connection lives, however long the sweeper looks", async () => {
    const id = await enqueueProbe({ units: 1 }, false);
    const { worker, token } = await claimAndWatch(id);
    try {
      await sql`select pg_sleep(2.5)`; // the local sweeper passes every second
      const [row] = await sql`select status, fencing_token from public.background_tasks where id = ${id}`;
      expect({ status: row.status, token: Number(row.fencing_token) }).toEqual({ status: "running", token });
      await expect(sql`select engine.resume_task(${id})`).rejects.toMatchObject({ code: "RF003" });
    } finally {
      await worker`select engine.release_lease(${id})`;
      await worker`select engine.cancel_task(${id})`;
      await worker.end();
    }
  });

  it("takes a task back as soon as its holder's connection dies, not when its two-minute lease ends", async () => {
    const id = await enqueueProbe({ units: 2 }, false);
    const { worker, token } = await claimAndWatch(id);
    const [{ lease_expires_at: leaseEnd }] =
      await sql`select lease_expires_at from public.background_tasks where id = ${id}`;
    await worker.end({ timeout: 0 });

    const done = await waitForStatus(sql, id, ["succeeded", "failed"], 60_000);
    expect(done.status).toBe("succeeded");
    expect(Number(done.fencing_token)).toBeGreaterThan(token);
    // Taken back on the dead holder's lock, not its lease: done before that lease would have run out.
    expect(new Date(done.finished_at).getTime()).toBeLessThan(new Date(leaseEnd).getTime());
  });
});

describe("recovery from a kill at the worst moment", () => {
  /** A doorbell that pg_net sent and recorded an answer for, as dispatch_task leaves it. */
  async function rungWithAnswer(id: string, status: number) {
    const [{ requestId }] = await sql`select (random() * 1e12)::bigint + 1e12::bigint as "requestId"`;
    await sql`update public.background_tasks set dispatched_at = now(), dispatch_request_id = ${requestId} where id = ${id}`;
    await sql`insert into net._http_response (id, status_code) values (${requestId}, ${status})`;
    return String(requestId);
  }
  const requestIdOf = async (id: string) =>
    String(
      (await sql`select dispatch_request_id from public.background_tasks where id = ${id}`)[0]
        .dispatch_request_id,
    );

  it("rings again at once a task whose doorbell reached a dying worker (546), not a redispatch window later", async () => {
    const id = await enqueueProbe({ units: 1 }, false);
    const lost = await rungWithAnswer(id, 546);
    await sql`select engine.ring_lost_doorbells()`;
    // The cron sweeper may have rung it first: either way a new doorbell replaced the lost one.
    expect(await requestIdOf(id)).not.toBe(lost);
    expect((await waitForStatus(sql, id, ["succeeded", "failed"], 60_000)).status).toBe("succeeded");
  });

  it("leaves a task whose doorbell was answered to its worker", async () => {
    const id = await enqueueProbe({ units: 1 }, false);
    const answered = await rungWithAnswer(id, 202);
    await sql`select engine.ring_lost_doorbells()`;
    expect(await requestIdOf(id)).toBe(answered);
    expect((await waitForStatus(sql, id, ["succeeded", "failed"], 60_000)).status).toBe("succeeded");
  });

  it("watches a doorbell claim from the claim itself: a holder dead right after claiming frees the task at once", async () => {
    const id = await enqueueProbe({ units: 1 }, false, null);
    const worker = connect(1);
    const [{ locked }] =
      await worker`select pg_try_advisory_lock(7301, engine.lease_lock_id(${id})) as locked`;
    expect(locked).toBe(true);
    const [claimed] =
      await sql`select lease_locked_at, lease_expires_at from engine.claim_task(${id}, 'doomed', 120, true)`;
    expect(claimed.lease_locked_at).not.toBeNull();
    const alive = async () =>
      (await sql`select engine.is_claimable(t) as claimable from public.background_tasks t where id = ${id}`)[
        0
      ].claimable;
    expect(await alive()).toBe(false);
    // Killed before it could do anything else: the two-minute lease no longer matters.
    await worker.end({ timeout: 0 });
    await waitFor(async () => (await alive()) || null, {
      timeoutMs: 10_000,
      what: "the dead holder's task to be claimable",
    });
    await sql`select engine.cancel_task(${id})`;
  });
});

describe("slices through the gateway", () => {
  it("splits work into slices that hand off to each other and applies each unit once", async () => {
    const start = await invoke("engine-probe", {
      action: "start",
      kind: "probe.append",
      payload: { units: 12, unitsPerSlice: 3 },
    }, { token: user.token });
    expect(start.status).toBe(202);
    const id = start.json.taskId;
    const done = await waitForStatus(sql, id, ["succeeded", "failed"]);
    expect(done.status).toBe("succeeded");
    expect(Number(done.progress)).toBe(100);
    expect(Number(done.fencing_token)).toBeGreaterThanOrEqual(4); // one claim per slice
    const units =
      await sql`select unit, count(*)::int as n from public.probe_units where task_id = ${id} group by unit order by unit`;
    expect(units.map((u) => u.unit)).toEqual([...Array(12).keys()]);
    expect(units.every((u) => u.n === 1)).toBe(true);
    const status = await invoke("engine-probe", { action: "status", taskId: id }, { token: user.token });
    expect(status.status).toBe(200);
    expect(status.json.task).toMatchObject({ id, status: "succeeded", progress: 100, result: { units: 12 } });
  });
});
