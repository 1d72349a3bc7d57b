/**
 * Work that needs more CPU than a worker may spend is sliced by CPU as well as by wall time: with
 * the platform's CPU limits lowered, a task of CPU-heavy steps finishes in several slices, none of
 * its steps cut short by a hard-limit kill. Needs a running stack (`npm run stack:start`).
 */
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
let defaults: Record<string, number>;
let startedAt: string;

beforeAll(async () => {
  sql = connect();
  user = await createUser(sql);
  defaults = await admin("limits");
  // A slice's CPU share is half the gap: 300 ms; the worker is killed at 1000 ms.
  await admin("config", { cpuSoftLimitMs: 400, cpuHardLimitMs: 1_000 });
  await admin("workers/kill", { function: "engine-probe" });
  startedAt = new Date().toISOString();
});

afterAll(async () => {
  await admin("config", defaults);
  await admin("workers/kill", { function: "engine-probe" });
  await sql.end();
});

describe("CPU limits of 400 ms soft and 1000 ms hard per worker", () => {
  it("are outlived by a task that burns 900 ms of CPU: it hands off by CPU, no step is killed mid-way", async () => {
    const start = await invoke("engine-probe", {
      action: "start",
      kind: "probe.append",
      payload: { units: 15, unitCpuMs: 60 },
    }, { token: user.token });
    expect(start.status).toBe(202);
    const id = start.json.taskId;
    const done = await waitForStatus(sql, id, ["succeeded", "failed"], 120_000);
    expect(done.status).toBe("succeeded");

    // 900 ms of CPU in 300 ms shares: at least three slices, whatever the wall clock says.
    const [{ slices }] =
      await sql`select count(*)::int + 1 as slices from public.probe_slices where task_id = ${id}`;
    expect(slices).toBeGreaterThanOrEqual(3);
    // A worker killed at the hard limit mid-step would leave that step a second attempt.
    const [{ attempts }] =
      await sql`select count(*)::int as attempts from public.probe_attempts where task_id = ${id}`;
    expect(attempts).toBe(15);
    const { exits } = await admin("workers") as {
      exits: Array<{ function: string; reason: string; exitedAt: string }>;
    };
    const probeExits = exits.filter((exit) => exit.function === "engine-probe" && exit.exitedAt >= startedAt);
    expect(probeExits.filter((exit) => exit.reason === "cpu_hard")).toEqual([]);
  });
});
