/**
 * Every slice records why it ended (engine.slice_ends): a task sliced by its CPU budget says so,
 * one sliced by its wall-clock budget says so, and neither is mistaken for the other or for a
 * handler's own hand-off. Limits are lowered through /_stack/config, one budget at a time, and
 * restored after. Needs a running stack (`npm run stack:start`).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  admin,
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
let defaults: Record<string, number>;

beforeAll(async () => {
  sql = connect();
  user = await createUser(sql);
  defaults = await admin("limits");
});

beforeEach(async () => {
  await admin("config", defaults);
  await admin("workers/kill", { function: "engine-probe" });
});

afterAll(async () => {
  await admin("config", defaults);
  await admin("workers/kill", { function: "engine-probe" });
  await sql.end();
});

/** Runs a probe.append task to its end; returns how many of its slices ended for each reason. */
async function sliceEnds(payload: Record<string, unknown>): Promise<Record<string, number>> {
  const start = await invoke("engine-probe", { action: "start", kind: "probe.append", payload }, {
    token: user.token,
  });
  expect(start.status).toBe(202);
  const id = start.json.taskId;
  const done = await waitForStatus(sql, id, ["succeeded", "failed"], 120_000);
  expect(done.status).toBe("succeeded");
  // The last slice records why it ended after it completed the task: wait for that row too.
  const rows = await waitFor(async () => {
    const found = await sql`
      select reason, count(*)::int as slices from engine.slice_ends
       where task_id = ${id} and function_name = 'engine-probe' and kind = 'probe.append' group by reason`;
    return found.some((row) => row.reason === "finished") ? found : null;
  }, { what: "the last slice's end record" });
  return Object.fromEntries(rows.map((row) => [row.reason, row.slices]));
}

describe("why slices end", () => {
  it("is the CPU budget for a task that needs more CPU than a slice's share, with wall time to spare", async () => {
    // A slice's CPU share is half the gap: 300 ms; 900 ms of CPU needs at least three slices.
    // The wall clock stays at its default (150 s), far beyond what this task takes.
    await admin("config", { cpuSoftLimitMs: 400, cpuHardLimitMs: 1_000 });
    const ends = await sliceEnds({ units: 15, unitCpuMs: 60 });
    expect(ends.cpu_budget).toBeGreaterThanOrEqual(2);
    expect(ends.wall_budget).toBeUndefined();
    expect(ends.yielded).toBeUndefined();
    expect(ends.finished).toBe(1);
  });

  it("is the wall-clock budget for a task that waits longer than a worker lives, with CPU to spare", async () => {
    // ~6 s of sleeping steps against a 4 s worker wall clock; the CPU limits raised far out of
    // reach (a 10 s share), so only wall time can end a slice.
    await admin("config", { wallClockMs: 4_000, cpuSoftLimitMs: 20_000, cpuHardLimitMs: 40_000 });
    const ends = await sliceEnds({ units: 60, unitMs: 100 });
    expect(ends.wall_budget).toBeGreaterThanOrEqual(1);
    expect(ends.cpu_budget).toBeUndefined();
    expect(ends.yielded).toBeUndefined();
    expect(ends.finished).toBe(1);
  });

  it("is the handler's own choice when it hands off with both budgets left", async () => {
    const ends = await sliceEnds({ units: 6, unitsPerSlice: 2 });
    expect(ends).toEqual({ yielded: 2, finished: 1 });
  });
});
