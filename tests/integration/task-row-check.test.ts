/**
 * A task row's invariants hold as each row is written (the background_tasks_written trigger,
 * engine.task_row_written): each rule refuses a bad row with check_violation, naming the rule and,
 * as constraint_name, the constraint that held it when there were CHECK constraints. The service
 * role, which writes task rows directly (task-store's metadata, key rotation), is checked too.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, createUser, type Sql } from "../support/stack.ts";

let sql: Sql;
let userId: string;

beforeAll(async () => {
  sql = connect();
  userId = (await createUser(sql)).id;
});
afterAll(() => sql.end());

async function insertTask(columns: Record<string, unknown>) {
  const row = { user_id: userId, kind: "probe.append", ...columns };
  return await sql`insert into public.background_tasks ${sql(row)} returning id`;
}

describe("a task row's invariants", () => {
  it.each([
    [{ status: "paused" }, "background_tasks_status_check", /status paused is not a task status/],
    [{ progress: 101 }, "background_tasks_progress_range", /progress 101 is outside 0..100/],
    [{ attempts: -1 }, "background_tasks_attempts_check", /attempts -1/],
    [{ max_attempts: 0 }, "background_tasks_attempts_check", /max_attempts 0/],
    [{ resumes: -1 }, "background_tasks_resumes_non_negative", /resumes -1 is negative/],
    [{ user_id: null }, "background_tasks_owner_required", /probe.append task needs an owner/],
  ])("refuses %o, as %s", async (columns, constraint, message) => {
    await expect(insertTask(columns)).rejects.toMatchObject({
      code: "23514",
      constraint_name: constraint,
      message,
    });
  });

  it("refuses an update that breaks one, and leaves the row as it was", async () => {
    const [{ id }] = await insertTask({});
    await expect(sql`update public.background_tasks set status = 'done' where id = ${id}`)
      .rejects.toMatchObject({ code: "23514", constraint_name: "background_tasks_status_check" });
    const [row] = await sql`select status from public.background_tasks where id = ${id}`;
    expect(row.status).toBe("queued");
    await sql`delete from public.background_tasks where id = ${id}`;
  });

  it("lets the service role write a valid row and refuses it an invalid one", async () => {
    const rollback = new Error("rollback");
    await sql.begin(async (tx) => {
      await tx`set local role service_role`;
      const [row] = await tx`
        insert into public.background_tasks (user_id, kind) values (${userId}, 'probe.append') returning status`;
      expect(row.status).toBe("queued");
      await expect(
        tx`savepoint bad`.then(() =>
          tx`insert into public.background_tasks (user_id, kind, progress) values (${userId}, 'probe.append', -1)`
        ),
      ).rejects.toMatchObject({ constraint_name: "background_tasks_progress_range" });
      throw rollback;
    }).catch((error) => {
      if (error !== rollback) throw error;
    });
  });

  it("checks in the table's only BEFORE row trigger, so nothing changes a row after its check", async () => {
    // tgtype bits: 1 = row, 2 = before, 4 = insert, 16 = update.
    const triggers = await sql`
      select tgname, tgtype & 20 = 20 as on_insert_and_update from pg_trigger
       where tgrelid = 'public.background_tasks'::regclass and not tgisinternal and tgtype & 3 = 3`;
    expect(triggers).toEqual([{ tgname: "background_tasks_written", on_insert_and_update: true }]);
  });

  it("keeps the kinds no user starts without an owner", async () => {
    const [{ id }] = await insertTask({ user_id: null, kind: "deploy.probe" });
    await sql`delete from public.background_tasks where id = ${id}`;
  });
});
