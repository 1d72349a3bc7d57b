import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  asUser,
  connect,
  createUser,
  invoke,
  type Sql,
  stackEnv,
  type TestUser,
  waitFor,
  waitForStatus,
} from "../support/stack.ts";

// What the driver says about engine-probe's probe.raw query; none of it may reach the owner.
const RAW_TEXT = /probe_missing_relation|secret_column|does not exist|42P01|select |PostgresError|\bat /;

let sql: Sql;
let owner: TestUser;
let taskId: string;

const functionLog = () =>
  readFileSync(join(stackEnv().STORAGE_DIR, "..", "logs", "functions", "engine-probe.log"), "utf8");

beforeAll(async () => {
  sql = connect();
  owner = await createUser(sql);
  const started = await invoke("engine-probe", { action: "start", kind: "probe.raw", maxAttempts: 1 }, {
    token: owner.token,
  });
  expect(started.status).toBe(202);
  taskId = started.json.taskId;
  await waitForStatus(sql, taskId, ["failed", "succeeded"]);
});
afterAll(() => sql.end());

describe("a task that fails with a raw driver error", () => {
  it("shows its owner, through RLS, a code and a message naming the task id, and no SQL or driver text", async () => {
    const [row] = await asUser(
      sql,
      owner.id,
      (tx) => tx`select status, last_error from public.background_tasks where id = ${taskId}`,
    );
    expect(row.status).toBe("failed");
    expect(row.last_error).toEqual({
      code: "internal_error",
      message: `An internal error stopped this step; it was logged as ${taskId}`,
      retryable: true,
    });
    const steps = await asUser(
      sql,
      owner.id,
      (tx) => tx`select name, result from public.background_task_steps where task_id = ${taskId}`,
    );
    expect(steps.map((s) => s.name)).toEqual(["before"]);
    expect(JSON.stringify([row, steps])).not.toMatch(RAW_TEXT);
  });

  it("shows the same through the status action", async () => {
    const status = await invoke("engine-probe", { action: "status", taskId }, { token: owner.token });
    expect(status.status).toBe(200);
    expect(status.json.task.lastError.code).toBe("internal_error");
    expect(status.text).toContain(taskId);
    expect(status.text).not.toMatch(RAW_TEXT);
  });

  it("writes the driver's text and its stack to the function log, under the task id", async () => {
    const line = await waitFor(
      () =>
        Promise.resolve(
          functionLog().split("\n").find((l) => l.includes('"task_internal_error"') && l.includes(taskId)),
        ),
      { what: "the log line" },
    );
    const entry = JSON.parse(line!.slice(line!.indexOf("{")));
    expect(entry).toMatchObject({
      event: "task_internal_error",
      taskId,
      kind: "probe.raw",
      code: "internal_error",
    });
    expect(entry.error).toMatchObject({
      name: "PostgresError",
      code: "42P01",
      message: expect.stringContaining("probe_missing_relation"),
    });
    expect(entry.error.stack).toMatch(/postgres\/(\d+\.\d+\.\d+\/)?src\/connection\.js/);
  });
});
