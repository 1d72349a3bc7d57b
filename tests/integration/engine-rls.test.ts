import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asUser, connect, createUser, invoke, type Sql, type TestUser } from "../support/stack.ts";

let sql: Sql;
let alice: TestUser;
let bob: TestUser;
let bobsTask: string;

beforeAll(async () => {
  sql = connect();
  alice = await createUser(sql);
  bob = await createUser(sql);
  const [task] = await sql`
    select id from engine.enqueue_task(p_user_id => ${bob.id}, p_kind => 'probe.append', p_function => 'engine-probe',
      p_payload => '{"units": 0}', p_dispatch => false, p_metadata => '{"secret":"bob only"}')`;
  bobsTask = task.id;
  // Park it as failed so that "resume" would be allowed for its owner.
  await sql`update public.background_tasks set status = 'failed' where id = ${bobsTask}`;
});
afterAll(() => sql.end());

const snapshot = async () =>
  (await sql`select status, metadata, fencing_token, updated_at from public.background_tasks where id = ${bobsTask}`)[
    0
  ];

describe("row level security on background_tasks", () => {
  it("lets an owner read their own task", async () => {
    const rows = await asUser(
      sql,
      bob.id,
      (tx) => tx`select id from public.background_tasks where id = ${bobsTask}`,
    );
    expect(rows).toHaveLength(1);
  });

  it("hides another user's task from SQL as authenticated", async () => {
    const rows = await asUser(
      sql,
      alice.id,
      (tx) => tx`select id from public.background_tasks where id = ${bobsTask}`,
    );
    expect(rows).toHaveLength(0);
    const steps = await asUser(
      sql,
      alice.id,
      (tx) => tx`select * from public.background_task_steps where task_id = ${bobsTask}`,
    );
    expect(steps).toHaveLength(0);
  });

  it("does not let another user update, delete, cancel or resume the task through SQL", async () => {
    const before = await snapshot();
    await expect(
      asUser(
        sql,
        alice.id,
        (tx) => tx`update public.background_tasks set status = 'queued' where id = ${bobsTask}`,
      ),
    )
      .rejects.toMatchObject({ code: "42501" });
    await expect(
      asUser(sql, alice.id, (tx) => tx`delete from public.background_tasks where id = ${bobsTask}`),
    )
      .rejects.toMatchObject({ code: "42501" });
    await expect(asUser(sql, alice.id, (tx) => tx`select public.resume_task(${bobsTask})`)).rejects
      .toMatchObject({ code: "P0002" });
    await expect(asUser(sql, alice.id, (tx) => tx`select public.cancel_task(${bobsTask})`)).rejects
      .toMatchObject({ code: "P0002" });
    await expect(asUser(sql, alice.id, (tx) => tx`select engine.resume_task(${bobsTask})`)).rejects
      .toMatchObject({ code: "42501" });
    await expect(asUser(sql, alice.id, (tx) => tx`select * from engine.claim_task(${bobsTask}, 'thief', 30)`))
      .rejects.toMatchObject({ code: "42501" });
    expect(await snapshot()).toEqual(before);
  });

  it("does not let another user read, cancel or resume the task through the functions", async () => {
    const before = await snapshot();
    for (const action of ["status", "cancel", "resume"]) {
      const response = await invoke("engine-probe", { action, taskId: bobsTask }, { token: alice.token });
      expect(response.status).toBe(404);
      expect(response.json.error.code).toBe("not_found");
      expect(response.text).not.toContain("bob only");
    }
    expect(await snapshot()).toEqual(before);
  });

  it("lets the owner resume their failed task through the function", async () => {
    const response = await invoke("engine-probe", { action: "resume", taskId: bobsTask }, {
      token: bob.token,
    });
    expect(response.status).toBe(202);
    expect(response.json).toMatchObject({ resumed: true });
  });
});
