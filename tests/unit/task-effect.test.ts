/**
 * ctx.effect: work outside the database (an upload, a provider call, another server) runs with no
 * transaction open, and only its result is recorded in one, as ctx.step records a step. Inside
 * ctx.step such work held a pooled connection idle in a transaction for as long as it took. The
 * store and the pool are in-memory stand-ins recording the order; the engine's SQL side of a step
 * runs against Postgres in the integration tests.
 */
import { describe, expect, it } from "vitest";
import { createSliceBudget } from "../../shared/engine/slice-budget.ts";
import { createTaskContext } from "../../shared/engine/task-context.ts";
import type { TaskRow } from "../../shared/engine/task-row.ts";
import type { StepRecord, TaskStore } from "../../shared/engine/task-store.ts";

const task = { id: "t1", fencingToken: "1", metadata: {}, payload: {} } as unknown as TaskRow;

function context(steps = new Map<string, StepRecord>()) {
  const calls: string[] = [];
  let open = 0;
  const store = {
    completeStep: async (_tx: unknown, _t: TaskRow, name: string, result: unknown) =>
      void calls.push(`record ${name} ${JSON.stringify(result)} in ${open} transaction`),
  } as unknown as TaskStore;
  const sql = {
    begin: async (run: (tx: unknown) => Promise<unknown>) => {
      open++;
      try {
        return await run({});
      } finally {
        open--;
      }
    },
  } as never;
  const budget = createSliceBudget({ workerStartedAt: 0, wallClockMs: 150_000, now: () => 0 });
  const ctx = createTaskContext({ sql, store, task, steps, budget, leaseSeconds: 30 });
  const work = (result: unknown) => async () => {
    calls.push(`work in ${open} transactions`);
    return result;
  };
  return { ctx, calls, work };
}

describe("effect", () => {
  it("does its work with no transaction open, then records the result in one", async () => {
    const { ctx, calls, work } = context();
    expect(await ctx.effect("upload", work({ url: "u" }))).toEqual({ url: "u" });
    expect(calls).toEqual(["work in 0 transactions", 'record upload {"url":"u"} in 1 transaction']);
  });

  it("answers a recorded result without doing the work again, and records it once per task", async () => {
    const steps = new Map<string, StepRecord>([
      ["upload", { name: "upload", status: "completed", externalId: null, result: { url: "before" } }],
    ]);
    const { ctx, calls, work } = context(steps);
    expect(await ctx.effect("upload", work({ url: "again" }))).toEqual({ url: "before" });
    expect(await ctx.effect("other", work(1))).toBe(1);
    expect(await ctx.effect("other", work(2))).toBe(1);
    expect(calls).toEqual(["work in 0 transactions", "record other 1 in 1 transaction"]);
  });

  it("records nothing when the work fails", async () => {
    const { ctx, calls } = context();
    const failed = await ctx.effect("upload", () => Promise.reject(new Error("storage down"))).catch((e) =>
      e
    );
    expect(failed.message).toBe("storage down");
    expect(calls).toEqual([]);
  });
});
