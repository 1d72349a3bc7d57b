import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  admin,
  connect,
  createUser,
  invoke,
  type Sql,
  type TestUser,
  waitForStatus,
} from "../support/stack.ts";

let sql: Sql;
let user: TestUser;
let previous: { wallClockMs: number };

beforeAll(async () => {
  sql = connect();
  user = await createUser(sql);
  previous = await admin("config");
  await admin("config", { wallClockMs: 4_000 });
  await admin("workers/kill", { function: "engine-probe" });
});

afterAll(async () => {
  await admin("config", { wallClockMs: previous.wallClockMs });
  await admin("workers/kill", { function: "engine-probe" });
  await sql.end();
});

describe("a worker wall clock of 4 seconds", () => {
  it("is outlived by a task twice as long: slices hand off before the kill, none loses its lease", async () => {
    // ~8 s of work, no fixed slice size: only the time budget splits it.
    const start = await invoke("engine-probe", {
      action: "start",
      kind: "probe.append",
      payload: { units: 160, unitMs: 50 },
    }, { token: user.token });
    expect(start.status).toBe(202);
    const id = start.json.taskId;
    const done = await waitForStatus(sql, id, ["succeeded", "failed"], 90_000);
    expect(done.status).toBe("succeeded");

    const [{ slices }] =
      await sql`select count(*)::int + 1 as slices from public.probe_slices where task_id = ${id}`;
    expect(slices).toBeGreaterThanOrEqual(3);
    // No step was cut short: had a slice overrun its worker's wall clock, the kill would have
    // interrupted a step (each takes 50 ms of a slice's time) and it would show a second attempt.
    const [{ attempts }] =
      await sql`select count(*)::int as attempts from public.probe_attempts where task_id = ${id}`;
    expect(attempts).toBe(160);
    const units =
      await sql`select count(distinct unit)::int as distinct, count(*)::int as total from public.probe_units where task_id = ${id}`;
    expect(units[0]).toEqual({ distinct: 160, total: 160 });
  });
});
