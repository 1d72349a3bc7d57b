/**
 * ctx.providerStep's order around a paid submission: nothing is paid with less than the margin left
 * before the worker's wall-clock kill, the id is recorded before any bookkeeping, and a recorded id
 * is polled, never submitted again. The store is an in-memory stand-in recording the call order;
 * the engine's SQL side of the same flow runs against Postgres in the integration tests.
 */
import { describe, expect, it } from "vitest";
import { createSliceBudget } from "../../shared/engine/slice-budget.ts";
import {
  createTaskContext,
  PAID_SUBMIT_MARGIN_MS,
  SliceWait,
  SliceYield,
} from "../../shared/engine/task-context.ts";
import { allSteps } from "../../shared/film/film-jobs.ts";
import type { TaskRow } from "../../shared/engine/task-row.ts";
import type { StepRecord, TaskStore } from "../../shared/engine/task-store.ts";

const task = { id: "t1", fencingToken: "1", metadata: {}, payload: {} } as unknown as TaskRow;

function contextAt(nowMs: number, steps = new Map<string, StepRecord>(), clock?: () => number) {
  const calls: string[] = [];
  const store = {
    recordSubmission: async (_t: TaskRow, name: string, id: string) =>
      void calls.push(`record ${name} ${id}`),
    withdrawSubmission: async (_t: TaskRow, name: string, id: string) =>
      void calls.push(`withdraw ${name} ${id}`),
    completeStep: async (_tx: unknown, _t: TaskRow, name: string) => void calls.push(`complete ${name}`),
  } as unknown as TaskStore;
  // The step's result commits in a transaction: here a pass-through.
  const sql = { begin: (run: (tx: unknown) => Promise<unknown>) => run({}) } as never;
  const budget = createSliceBudget({ workerStartedAt: 0, wallClockMs: 150_000, now: () => nowMs });
  const ctx = createTaskContext({
    sql,
    store,
    task,
    steps,
    budget,
    leaseSeconds: 30,
    sleep: async () => {},
    now: clock,
  });
  return { ctx, calls };
}

/** A slice killed after recording its submission: the step's job-0, as store.steps() reads it back. */
const recordedJob = (submittedAtMs?: number) =>
  new Map<string, StepRecord>([["clip", {
    name: "clip",
    status: "submitted",
    externalId: "job-0",
    result: null,
    ...(submittedAtMs === undefined ? {} : { submittedAtMs }),
  }]]);

const spec = (calls: string[]) => ({
  submit: async () => (calls.push("submit"), "job-1"),
  submitted: async (id: string) => void calls.push(`submitted ${id}`),
  poll: async (id: string) => (calls.push(`poll ${id}`), "done"),
});

describe("providerStep", () => {
  it("records the provider's id before any bookkeeping, then polls it", async () => {
    const { ctx, calls } = contextAt(10_000);
    expect(await ctx.providerStep("clip", spec(calls))).toBe("done");
    expect(calls).toEqual(["submit", "record clip job-1", "submitted job-1", "poll job-1", "complete clip"]);
  });

  it("does not pay for a job this close to the worker's wall-clock kill: it asks to run after the worker is gone", async () => {
    const untilKill = PAID_SUBMIT_MARGIN_MS - 1_000;
    const { ctx, calls } = contextAt(150_000 - untilKill);
    const error = await ctx.providerStep("clip", spec(calls)).catch((e) => e);
    expect(error).toBeInstanceOf(SliceYield);
    expect((error as SliceYield).notBeforeMs).toBe(untilKill + 500);
    expect(calls).toEqual([]);
  });

  it("polls an id recorded before a kill instead of submitting, even late in the worker's life", async () => {
    const steps = recordedJob();
    const { ctx, calls } = contextAt(149_000, steps);
    expect(await ctx.providerStep("clip", spec(calls))).toBe("done");
    expect(calls).toEqual(["poll job-0", "complete clip"]);
  });

  it("pays for a new job when the recorded one was given up with its task, after withdrawing its record", async () => {
    const steps = recordedJob();
    const { ctx, calls } = contextAt(10_000, steps);
    const given = { ...spec(calls), withdrawn: async (id: string) => (calls.push(`withdrawn? ${id}`), true) };
    expect(await ctx.providerStep("clip", given)).toBe("done");
    expect(calls).toEqual([
      "withdrawn? job-0",
      "withdraw clip job-0",
      "submit",
      "record clip job-1",
      "submitted job-1",
      "poll job-1",
      "complete clip",
    ]);
  });

  it("polls a recorded job its hook does not give up, and never asks about a step not submitted", async () => {
    const steps = recordedJob();
    const { ctx, calls } = contextAt(10_000, steps);
    const kept = { ...spec(calls), withdrawn: async (id: string) => (calls.push(`withdrawn? ${id}`), false) };
    expect(await ctx.providerStep("clip", kept)).toBe("done");
    expect(calls).toEqual(["withdrawn? job-0", "poll job-0", "complete clip"]);
    const fresh = contextAt(10_000);
    expect(await fresh.ctx.providerStep("clip", { ...spec(fresh.calls), withdrawn: kept.withdrawn })).toBe(
      "done",
    );
    expect(fresh.calls).toEqual([
      "submit",
      "record clip job-1",
      "submitted job-1",
      "poll job-1",
      "complete clip",
    ]);
  });

  it("parks on a job that is a background task instead of polling it again on this worker", async () => {
    const { ctx, calls } = contextAt(10_000);
    const pending = {
      ...spec(calls),
      poll: async (id: string) => (calls.push(`poll ${id}`), null),
      jobIsTask: true,
    };
    const error = await ctx.providerStep("frame", pending).catch((e) => e);
    expect(error).toBeInstanceOf(SliceWait);
    expect((error as SliceWait).taskIds).toEqual(["job-1"]);
    expect(calls).toEqual(["submit", "record frame job-1", "submitted job-1", "poll job-1"]);
  });
});

describe("providerStep deadline", () => {
  const running = (calls: string[]) => ({
    ...spec(calls),
    poll: async (id: string) => (calls.push(`poll ${id}`), null),
    deadline: { afterMs: 60_000, expired: async (id: string) => (calls.push(`expired ${id}`), "timed out") },
  });

  it("gives up a job still running past its deadline, measured from the recorded submission", async () => {
    const calls: string[] = [];
    const { ctx, calls: engine } = contextAt(10_000, recordedJob(1_000), () => 61_000);
    expect(await ctx.providerStep("clip", running(calls))).toBe("timed out");
    expect(calls).toEqual(["poll job-0", "expired job-0"]);
    expect(engine).toEqual(["complete clip"]);
  });

  it("keeps polling (then yields) a job still inside its deadline", async () => {
    const calls: string[] = [];
    const { ctx } = contextAt(10_000, recordedJob(1_000), () => 60_999);
    const error = await ctx.providerStep("clip", { ...running(calls), pollEveryMs: 200_000 }).catch((e) => e);
    expect(error).toBeInstanceOf(SliceYield);
    expect(calls).toEqual(["poll job-0"]);
  });

  it("a job that finished by the poll past its deadline keeps its result", async () => {
    const calls: string[] = [];
    const { ctx } = contextAt(10_000, recordedJob(1_000), () => 500_000);
    const finished = { ...running(calls), poll: async (id: string) => (calls.push(`poll ${id}`), "done") };
    expect(await ctx.providerStep("clip", finished)).toBe("done");
    expect(calls).toEqual(["poll job-0"]);
  });

  it("a job submitted in this slice is timed from its submission", async () => {
    const calls: string[] = [];
    let now = 5_000;
    const { ctx, calls: engine } = contextAt(10_000, new Map(), () => now);
    const slow = {
      ...running(calls),
      submit: async () => (calls.push("submit"), "job-1"),
      poll: async (id: string) => {
        calls.push(`poll ${id}`);
        now += 40_000;
        return null;
      },
    };
    expect(await ctx.providerStep("clip", slow)).toBe("timed out");
    // Polled at 45 s (inside), slept, polled at 85 s: 80 s after the submission at 5 s.
    expect(calls).toEqual(["submit", "submitted job-1", "poll job-1", "poll job-1", "expired job-1"]);
    expect(engine).toEqual(["record clip job-1", "complete clip"]);
  });
});

describe("allSteps", () => {
  const wait = (id: string) => () => Promise.reject(new SliceWait([id]));
  it("parks on every task its steps wait for", async () => {
    const error = await allSteps([wait("a"), async () => 1, wait("b")]).catch((e) => e);
    expect(error).toBeInstanceOf(SliceWait);
    expect((error as SliceWait).taskIds).toEqual(["a", "b"]);
  });
  it("prefers a plain yield (something to poll) over parking, and a real failure over both", async () => {
    const yieldError = await allSteps([wait("a"), () => Promise.reject(new SliceYield())]).catch((e) => e);
    expect(yieldError).toBeInstanceOf(SliceYield);
    expect(yieldError).not.toBeInstanceOf(SliceWait);
    const failure = await allSteps([wait("a"), () => Promise.reject(new Error("boom"))]).catch((e) => e);
    expect(failure.message).toBe("boom");
  });
});
