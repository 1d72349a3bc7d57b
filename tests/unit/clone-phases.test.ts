import { describe, expect, it, vi } from "vitest";
import type { CloneOps, ClonePhase, ClonePhaseEnv, CloneState } from "../../shared/clone/clone-phase.ts";
import { completePhase, enterPhase, runClonePhases } from "../../shared/clone/clone-phases.ts";
import { cloneProgress, initialCheckpoint, type Phase } from "../../shared/clone/clone-state.ts";
import type { ChunkResult } from "../../shared/clone/copy-chunk.ts";
import { afterChunk, dataPhase } from "../../shared/clone/phase-data.ts";
import { preflightPhase } from "../../shared/clone/phase-preflight.ts";
import { statementsPhase } from "../../shared/clone/phase-statements.ts";
import { storagePhase } from "../../shared/clone/phase-storage.ts";
import { verifyPhase } from "../../shared/clone/phase-verify.ts";
import type { ClonePlan, TableInfo } from "../../shared/clone/schema-plan.ts";

const table = (name: string, over: Partial<TableInfo> = {}): TableInfo => ({
  schema: "public",
  name,
  columns: ["id"],
  key: [{ column: "id", type: "bigint" }],
  estimatedRows: 10,
  partitioned: false,
  ...over,
});
const ddl = (key: string, tables?: string[]) => ({ key, sql: `-- ${key}`, tables });

/** A promise settled from outside, to finish fake statements in a chosen order. */
function deferred() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((yes, no) => ((resolve = yes), (reject = no)));
  return { promise, resolve, reject };
}

/** Lets every pending callback and continuation run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

const emptyPlan: ClonePlan = {
  schemas: ["public"],
  types: [],
  schema: [],
  postData: [],
  tables: [],
  sequences: [],
};

function stateOf(
  over: Partial<CloneState> = {},
  checkpoint: Partial<CloneState["checkpoint"]> = {},
): CloneState {
  return {
    options: { includeData: true, includeStorage: false, schemas: ["public"] },
    target: { v: 2, kid: "k", iv: "i", data: "d" },
    targetMasked: "postgresql://***@target/db",
    ...over,
    checkpoint: { ...initialCheckpoint(), ...checkpoint },
  };
}

/**
 * A fake env: the plan given, ops that record what they were asked, `yieldAfter` units of work
 * (shouldYield calls) before the budget runs out, and every saved state kept.
 */
function fakeEnv(plan: ClonePlan, ops: Partial<CloneOps> = {}, yieldAfter = Infinity) {
  const saved: CloneState[] = [];
  const calls: string[] = [];
  let asked = 0;
  let clock = 0;
  const env: ClonePhaseEnv = {
    plan: async () => plan,
    save: async (state) => void saved.push(state),
    step: async (_name, run) => await run(),
    shouldYield: () => asked++ >= yieldAfter,
    budget: { remainingMs: () => 60_000, cpuSpentMs: () => null, cpuLimitMs: Infinity },
    now: () => (clock += 100),
    ops: {
      targetIdentity: async () => "target",
      sourceIdentity: async () => "source",
      serverVersions: async () => ({ source: 150004, target: 150018 }),
      findConflicts: async () => [],
      ensureLedger: async () => void calls.push("ledger"),
      openSessions: async (wanted) => wanted,
      applyStatement: async (s) => void calls.push(`apply ${s.key}`),
      copyChunk: async () => ({ rows: 0, lastKey: null, done: true, replayed: false }),
      openCopyLanes: async (wanted) => wanted,
      copyStorageStep: async () => ({
        done: true,
        cursor: { bucketsCreated: [], bucket: null, afterName: null, objectsCopied: 0, bytesCopied: 0 },
      }),
      verifyTable: async (t) => (calls.push(`verify ${t.name}`), []),
      syncSequence: async (s) => void calls.push(`setval ${s.name}`),
      verifySequences: async () => [],
      verifyStorage: async () => [],
      ...ops,
    },
  };
  return { env, saved, calls };
}

describe("the phase loop", () => {
  const finishing = (seen: Phase[]): ClonePhase => async (state) => {
    seen.push(state.checkpoint.phase);
    return { state, finished: true };
  };
  const allFinish = (seen: Phase[]) =>
    Object.fromEntries(
      (["preflight", "types", "schema", "data", "post_data", "storage", "verify"] as Phase[]).map((
        p,
      ) => [p, finishing(seen)]),
    ) as Record<Phase, ClonePhase>;

  it("enters, runs and completes each phase the options pick, saving as it enters and as it completes", async () => {
    const seen: Phase[] = [];
    const { env, saved } = fakeEnv(emptyPlan);
    const { state, finished } = await runClonePhases(stateOf(), env, allFinish(seen));
    expect(finished).toBe(true);
    expect(seen).toEqual(["preflight", "types", "schema", "data", "post_data", "verify"]);
    expect(state.checkpoint.completedPhases).toEqual(seen);
    // preflight is the initial phase: not entered again; every other phase saves on entering and on completing.
    expect(saved).toHaveLength(1 + 5 * 2);
    expect(saved[1].checkpoint).toMatchObject({ phase: "types", completedPhases: ["preflight"] });
  });

  it("hands back the state of a phase that ran out of budget, not completed", async () => {
    const phases = allFinish([]);
    phases.schema = async (state) => ({
      state: { ...state, checkpoint: { ...state.checkpoint, statementsApplied: 3 } },
      finished: false,
    });
    const { env } = fakeEnv(emptyPlan);
    const { state, finished } = await runClonePhases(stateOf(), env, phases);
    expect(finished).toBe(false);
    expect(state.checkpoint).toMatchObject({
      phase: "schema",
      statementsApplied: 3,
      completedPhases: ["preflight", "types"],
    });
  });

  it("resumes the phase in the checkpoint where it stopped", async () => {
    const started: number[] = [];
    const phases = allFinish([]);
    phases.schema = async (
      state,
    ) => (started.push(state.checkpoint.statementsApplied), { state, finished: true });
    const { env } = fakeEnv(emptyPlan);
    await runClonePhases(
      stateOf({}, { phase: "schema", statementsApplied: 3, completedPhases: ["preflight", "types"] }),
      env,
      phases,
    );
    expect(started).toEqual([3]);
  });

  it("enters a phase with its statement count at zero and completes it by name", () => {
    const entered = enterPhase(stateOf({}, { statementsApplied: 9 }), "post_data");
    expect(entered.checkpoint).toMatchObject({ phase: "post_data", statementsApplied: 0 });
    expect(completePhase(entered, "post_data").checkpoint.completedPhases).toEqual(["post_data"]);
  });
});

describe("preflight", () => {
  const plan = {
    ...emptyPlan,
    tables: [
      table("a", { estimatedRows: 5 }),
      table("parent", { partitioned: true }),
      table("b", { estimatedRows: 0 }),
    ],
  };

  it("records the totals of the tables to copy and makes sure of the ledger", async () => {
    const { env, saved, calls } = fakeEnv(plan);
    const { state, finished } = await preflightPhase(stateOf(), env);
    expect(finished).toBe(true);
    expect(state.totals).toEqual({ "public.a": 5, "public.b": 0 });
    expect(saved.at(-1)?.totals).toEqual(state.totals);
    expect(calls).toEqual(["ledger"]);
  });

  it("allows COPY binary for the job only when source and target share a major version", async () => {
    const same = await preflightPhase(stateOf(), fakeEnv(plan).env);
    expect(same.state.binaryCopy).toBe(true);
    const { env, saved } = fakeEnv(plan, {
      serverVersions: async () => ({ source: 150004, target: 160001 }),
    });
    const other = await preflightPhase(stateOf(), env);
    expect(other.state.binaryCopy).toBe(false);
    expect(saved.at(-1)?.binaryCopy).toBe(false);
  });

  it("refuses the source as its own target", async () => {
    const { env } = fakeEnv(plan, { targetIdentity: async () => "same", sourceIdentity: async () => "same" });
    await expect(preflightPhase(stateOf(), env)).rejects.toMatchObject({ code: "target_is_source" });
  });

  it("refuses a target that already has the plan's objects, naming them", async () => {
    const { env, saved } = fakeEnv(plan, { findConflicts: async () => ["table public.a"] });
    await expect(preflightPhase(stateOf(), env)).rejects.toMatchObject({
      code: "target_not_empty",
      message: expect.stringContaining("table public.a"),
    });
    expect(saved).toHaveLength(0);
  });
});

describe("DDL phases", () => {
  const plan = { ...emptyPlan, schema: [ddl("s0"), ddl("s1"), ddl("s2")], postData: [ddl("p0")] };

  it("applies the phase's statements from where the checkpoint stopped, saving after each", async () => {
    const { env, saved, calls } = fakeEnv(plan);
    const { state, finished } = await statementsPhase("schema")(stateOf({}, { statementsApplied: 1 }), env);
    expect(finished).toBe(true);
    expect(calls).toEqual(["apply s1", "apply s2"]);
    expect(saved.map((s) => s.checkpoint.statementsApplied)).toEqual([2, 3]);
    expect(state.checkpoint.statementsApplied).toBe(3);
  });

  it("stops when the budget runs out, with the count of what was applied", async () => {
    const { env, calls } = fakeEnv(plan, {}, 1);
    const { state, finished } = await statementsPhase("schema")(stateOf(), env);
    expect(finished).toBe(false);
    expect(calls).toEqual(["apply s0"]);
    expect(state.checkpoint.statementsApplied).toBe(1);
  });
});

describe("post_data in parallel sessions", () => {
  // k0 and k1 on table a, k2 on b, k3 on c, a foreign key from c to a, then a view (unmarked), then an index on a.
  const plan = {
    ...emptyPlan,
    postData: [
      ddl("k0", ["a"]),
      ddl("k1", ["a"]),
      ddl("k2", ["b"]),
      ddl("k3", ["c"]),
      ddl("fk", ["c", "a"]),
      ddl("view"),
      ddl("i0", ["a"]),
    ],
  };

  /** applyStatement that waits until the test finishes each statement, recording starts and sessions. */
  function controlled() {
    const pending = new Map<string, ReturnType<typeof deferred>>();
    const started: string[] = [];
    const sessions: Record<string, number | undefined> = {};
    const applyStatement = async (statement: { key: string }, session?: number) => {
      started.push(statement.key);
      sessions[statement.key] = session;
      const done = deferred();
      pending.set(statement.key, done);
      await done.promise;
    };
    const finish = async (key: string) => {
      pending.get(key)!.resolve();
      await settle();
    };
    return { applyStatement, started, sessions, pending, finish };
  }

  it("builds statements on other tables at once, keeps a table's own in order, and runs an unmarked one alone", async () => {
    const c = controlled();
    const { env, saved } = fakeEnv(plan, { applyStatement: c.applyStatement });
    const running = statementsPhase("postData")(stateOf({}, { phase: "post_data" }), env);
    await settle();
    // k1 waits for k0 (same table); k2 and k3 start beside k0, up to 3 sessions, each its own.
    expect(c.started).toEqual(["k0", "k2", "k3"]);
    expect(new Set(Object.values(c.sessions))).toEqual(new Set([0, 1, 2]));
    await c.finish("k2");
    // A free session, but k1 still waits for k0 and fk for k0 and k3.
    expect(c.started).toEqual(["k0", "k2", "k3"]);
    expect(saved).toHaveLength(0); // k0 is not finished: the count cannot move past it
    await c.finish("k0");
    expect(c.started).toEqual(["k0", "k2", "k3", "k1"]);
    expect(saved.map((s) => s.checkpoint.statementsApplied)).toEqual([1]);
    await c.finish("k1");
    // k0..k2 done: the count moves over all three; fk still waits for k3.
    expect(saved.at(-1)!.checkpoint.statementsApplied).toBe(3);
    expect(c.started).toEqual(["k0", "k2", "k3", "k1"]);
    await c.finish("k3");
    expect(c.started.at(-1)).toBe("fk");
    await c.finish("fk");
    // The view starts alone, once all before it finished.
    expect(c.started.at(-1)).toBe("view");
    await c.finish("view");
    await c.finish("i0");
    const { state, finished } = await running;
    expect(finished).toBe(true);
    expect(state.checkpoint.statementsApplied).toBe(7);
    expect(c.started).toEqual(["k0", "k2", "k3", "k1", "fk", "view", "i0"]);
  });

  it("stops starting when the budget runs out, lets the builds in flight finish and counts only the unbroken prefix", async () => {
    const c = controlled();
    const { env, saved } = fakeEnv(plan, { applyStatement: c.applyStatement }, 2);
    const running = statementsPhase("postData")(stateOf({}, { phase: "post_data" }), env);
    await settle();
    expect(c.started).toEqual(["k0", "k2"]);
    await c.finish("k2");
    await c.finish("k0");
    const { state, finished } = await running;
    expect(finished).toBe(false);
    expect(c.started).toEqual(["k0", "k2"]);
    // k2 finished too, but k1 before it did not: a resumed slice asks for k1 and k2 again (the ledger skips k2).
    expect(state.checkpoint.statementsApplied).toBe(1);
    expect(saved.at(-1)!.checkpoint.statementsApplied).toBe(1);
    const resumed = fakeEnv(plan);
    await statementsPhase("postData")(state, resumed.env);
    expect(resumed.calls.slice(0, 3).sort()).toEqual(["apply k1", "apply k2", "apply k3"]);
  });

  it("fails with the failed statement's error once the others in flight have settled, the count before it", async () => {
    const c = controlled();
    const { env, saved } = fakeEnv(plan, { applyStatement: c.applyStatement });
    const running = statementsPhase("postData")(stateOf({}, { phase: "post_data" }), env);
    const outcome = running.then(() => "finished", (error: Error) => error.message);
    await settle();
    c.pending.get("k2")!.reject(new Error("k2 failed"));
    await settle();
    // Nothing new starts after a failure; the error waits for k0 and k3.
    expect(c.started).toEqual(["k0", "k2", "k3"]);
    await c.finish("k0");
    expect(c.started).toEqual(["k0", "k2", "k3"]);
    await c.finish("k3");
    expect(await outcome).toBe("k2 failed");
    expect(saved.at(-1)!.checkpoint.statementsApplied).toBe(1);
  });

  it("goes on with fewer sessions when the target has no more to give", async () => {
    const c = controlled();
    const { env } = fakeEnv(plan, { applyStatement: c.applyStatement, openSessions: async () => 1 });
    statementsPhase("postData")(stateOf({}, { phase: "post_data" }), env);
    await settle();
    expect(c.started).toEqual(["k0"]);
    await c.finish("k0");
    expect(c.started).toEqual(["k0", "k1"]);
    expect(Object.values(c.sessions)).toEqual([0, 0]);
  });
});

describe("data", () => {
  const chunks = (results: ChunkResult[]) => {
    const asked: Array<{ table: string; after: string[] | null; rows: number }> = [];
    const copyChunk = async (
      t: TableInfo,
      after: string[] | null,
      rows: number,
    ) => (asked.push({ table: t.name, after, rows }), results.shift()!);
    return { asked, copyChunk };
  };

  it("copies keyed tables chunk by chunk after the last key, then marks them done", async () => {
    const { asked, copyChunk } = chunks([
      { rows: 3, lastKey: ["3"], done: false, replayed: false },
      { rows: 2, lastKey: ["5"], done: true, replayed: false },
    ]);
    const plan = {
      ...emptyPlan,
      tables: [table("done"), table("parent", { partitioned: true }), table("a")],
    };
    const { env, saved } = fakeEnv(plan, { copyChunk });
    const { state, finished } = await dataPhase(stateOf({}, { completedTables: ["public.done"] }), env);
    expect(finished).toBe(true);
    expect(asked).toEqual([{ table: "a", after: null, rows: 5_000 }, {
      table: "a",
      after: ["3"],
      rows: 5_000,
    }]);
    expect(state.checkpoint).toMatchObject({
      completedTables: ["public.done", "public.a"],
      currentTable: null,
      lastKey: null,
      rowsPerTable: { "public.a": 5 },
    });
    expect(saved.map((s) => s.checkpoint.lastKey)).toEqual([null, ["3"], ["5"], null]);
  });

  it("copies in binary only the tables the plan found portable, and only when the job allows it", async () => {
    const formats: string[] = [];
    const plan = {
      ...emptyPlan,
      tables: [
        table("portable", { binaryPortable: true }),
        table("user_types", { binaryPortable: false }),
        table(
          "old_plan",
        ),
        table("keyless", { key: null, binaryPortable: true }),
      ],
    };
    const ops = {
      copyChunk: async (t: TableInfo, _after: string[] | null, _rows: number, format?: string) => (
        formats.push(`${t.name} ${format}`), { rows: 1, lastKey: ["1"], done: true, replayed: false }
      ),
    };
    await dataPhase(stateOf({ binaryCopy: true }), fakeEnv(plan, ops).env);
    expect(formats).toEqual(["portable binary", "user_types text", "old_plan text", "keyless binary"]);

    formats.length = 0;
    await dataPhase(stateOf(), fakeEnv(plan, ops).env);
    expect(formats).toEqual(["portable text", "user_types text", "old_plan text", "keyless text"]);
  });

  it("keeps the table and key it reached when the budget runs out mid-table", async () => {
    const { copyChunk } = chunks([{ rows: 3, lastKey: ["3"], done: false, replayed: false }]);
    const { env } = fakeEnv({ ...emptyPlan, tables: [table("a")] }, { copyChunk }, 2);
    const { state, finished } = await dataPhase(stateOf(), env);
    expect(finished).toBe(false);
    expect(state.checkpoint).toMatchObject({ currentTable: "public.a", lastKey: ["3"], completedTables: [] });
  });

  it("resumes an interrupted keyless table where its cursor is, as a keyed one", async () => {
    const { asked, copyChunk } = chunks([
      { rows: 40, lastKey: ["20"], done: false, replayed: false },
      { rows: 7, lastKey: ["31"], done: true, replayed: false },
    ]);
    const plan = { ...emptyPlan, tables: [table("k1", { key: null })] };
    const { env } = fakeEnv(plan, { copyChunk });
    const { state } = await dataPhase(stateOf({}, { tablesInFlight: { "public.k1": ["10"] } }), env);
    // Before: copied whole, from the first row again, after every interruption.
    expect(asked.map((a) => a.after)).toEqual([["10"], ["20"]]);
    expect(state.checkpoint.completedTables).toEqual(["public.k1"]);
    expect(state.checkpoint.rowsPerTable).toEqual({ "public.k1": 47 });
  });
});

describe("data, several tables at once", () => {
  /** Each table's chunks, answered after a tick so that the lanes interleave. */
  const perTable = (results: Record<string, ChunkResult[]>) => {
    const asked: Array<{ table: string; after: string[] | null }> = [];
    const copyChunk = async (t: TableInfo, after: string[] | null) => {
      asked.push({ table: t.name, after });
      await new Promise((resolve) => setTimeout(resolve, 1));
      return results[t.name].shift()!;
    };
    return { asked, copyChunk };
  };
  const chunk = (rows: number, last: string, done = false) => ({
    rows,
    lastKey: [last],
    done,
    replayed: false,
  });

  it("fails at once, naming the table and SQLSTATE, when the target refuses a table's rows", async () => {
    const plan = { ...emptyPlan, tables: [table("a")] };
    const refusal = Object.assign(
      new Error(`value for domain d violates check constraint "x": 'secret row'`),
      {
        code: "23514",
      },
    );
    const { env } = fakeEnv(plan, { copyChunk: async () => Promise.reject(refusal) });
    // Before: thrown as it came, retried 8 times and shown as clone_error.
    const error = await dataPhase(stateOf(), env).catch((e) => e);
    expect(error).toMatchObject({
      name: "PermanentTaskError",
      code: "rows_refused",
      message: expect.stringContaining("copying public.a failed with SQLSTATE 23514 check_violation"),
      cause: refusal,
    });
    expect(error.message).not.toContain("secret row");
    // A lost connection is not the rows' fault: it is retried as before.
    const lost = Object.assign(new Error("connection reset"), { code: "08006" });
    const { env: again } = fakeEnv(plan, { copyChunk: async () => Promise.reject(lost) });
    expect(await dataPhase(stateOf(), again).catch((e) => e)).toBe(lost);
  });

  it("copies as many tables at once as the target gave connections for", async () => {
    const plan = { ...emptyPlan, tables: [table("a"), table("b"), table("c")] };
    let inFlight = 0;
    let most = 0;
    const asked: number[] = [];
    const { env } = fakeEnv(plan, {
      openCopyLanes: async (wanted) => (asked.push(wanted), 1),
      copyChunk: async () => {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 1));
        inFlight--;
        return chunk(1, "1", true);
      },
    });
    const { finished } = await dataPhase(stateOf(), { ...env, concurrency: 4 });
    expect(finished).toBe(true);
    expect(asked).toEqual([3]); // no more lanes than tables
    expect(most).toBe(1);
  });

  it("keeps a cursor per table in flight, and a resumed slice goes on from each", async () => {
    const plan = { ...emptyPlan, tables: [table("a"), table("b"), table("c")] };
    const first = perTable({ a: [chunk(3, "3"), chunk(3, "6")], b: [chunk(2, "2"), chunk(2, "4")] });
    const { env } = fakeEnv(plan, { copyChunk: first.copyChunk }, 4);
    const stopped = await dataPhase(stateOf(), { ...env, concurrency: 2 });
    expect(stopped.finished).toBe(false);
    expect(stopped.state.checkpoint.tablesInFlight).toEqual({ "public.a": ["3"], "public.b": ["2"] });
    expect(stopped.state.checkpoint).toMatchObject({ currentTable: "public.a", lastKey: ["3"] });

    const second = perTable({
      a: [chunk(1, "7", true)],
      b: [chunk(1, "5", true)],
      c: [chunk(4, "4", true)],
    });
    const { env: next } = fakeEnv(plan, { copyChunk: second.copyChunk });
    const { state, finished } = await dataPhase(stopped.state, { ...next, concurrency: 2 });
    expect(finished).toBe(true);
    expect(second.asked).toEqual([
      { table: "a", after: ["3"] },
      { table: "b", after: ["2"] },
      { table: "c", after: null },
    ]);
    expect(state.checkpoint).toMatchObject({
      completedTables: expect.arrayContaining(["public.a", "public.b", "public.c"]),
      tablesInFlight: {},
      currentTable: null,
      rowsPerTable: { "public.a": 4, "public.b": 3, "public.c": 4 },
    });
  });

  it("reads a checkpoint written before concurrent copies: currentTable and lastKey are its cursor", async () => {
    const plan = { ...emptyPlan, tables: [table("a"), table("b")] };
    const copies = perTable({ a: [chunk(1, "9", true)], b: [chunk(1, "1", true)] });
    const { env } = fakeEnv(plan, { copyChunk: copies.copyChunk });
    const old = stateOf({}, { currentTable: "public.b", lastKey: ["0"], tablesInFlight: undefined });
    await dataPhase(old, { ...env, concurrency: 2 });
    expect(copies.asked).toEqual([{ table: "b", after: ["0"] }, { table: "a", after: null }]);
  });

  it("counts the CPU the copy spent in the checkpoint", async () => {
    let cpu = 0;
    const copies = perTable({ a: [chunk(1, "1"), chunk(1, "2", true)] });
    const { env } = fakeEnv({ ...emptyPlan, tables: [table("a")] }, {
      copyChunk: async (t, after) => ((cpu += 40), await copies.copyChunk(t, after)),
    });
    const { state } = await dataPhase(stateOf({}, { copyCpuMs: 10 }), {
      ...env,
      budget: { ...env.budget, cpuSpentMs: () => cpu },
    });
    expect(state.checkpoint.copyCpuMs).toBe(90);
  });

  it("a failing lane fails the phase once the other lane's chunk is done", async () => {
    const plan = { ...emptyPlan, tables: [table("a"), table("b")] };
    const copies = perTable({ a: [chunk(1, "1"), chunk(1, "2", true)] });
    const { env, saved } = fakeEnv(plan, {
      copyChunk: async (t, after) => {
        if (t.name === "b") throw new Error("target gone");
        return await copies.copyChunk(t, after);
      },
    });
    await expect(dataPhase(stateOf(), { ...env, concurrency: 2 })).rejects.toThrow("target gone");
    expect(saved.at(-1)!.checkpoint.completedTables).toEqual([]);
    expect(copies.asked).toEqual([{ table: "a", after: null }]);
  });
});

describe("copy time", () => {
  it("counts the time rows were moving once, however many lanes moved them", async () => {
    // Two tables copied side by side, each chunk 1 s on a clock the test moves: 0-1 s both lanes,
    // 1-2 s both again, then one lane alone for 1 s. Rows moved for 3 s.
    let clock = 0;
    const gates: Array<() => void> = [];
    const chunksLeft: Record<string, number> = { a: 2, b: 3 };
    const copyChunk = async (t: TableInfo) => {
      await new Promise<void>((resolve) => gates.push(resolve));
      chunksLeft[t.name]--;
      return {
        rows: 10,
        lastKey: [String(chunksLeft[t.name])],
        done: chunksLeft[t.name] === 0,
        replayed: false,
      };
    };
    const plan = { ...emptyPlan, tables: [table("a"), table("b")] };
    const { env } = fakeEnv(plan, { copyChunk });
    const phase = dataPhase(stateOf(), { ...env, concurrency: 2, now: () => clock });
    for (let second = 0; second < 3; second++) {
      await vi.waitFor(() => expect(gates.length).toBeGreaterThan(0));
      await settle();
      clock += 1_000;
      gates.splice(0).forEach((open) => open());
    }
    const { state } = await phase;
    expect(state.checkpoint.rowsPerTable).toEqual({ "public.a": 20, "public.b": 30 });
    // Before: each lane's chunks summed, 5 s, so status showed 10 rows/s instead of about 17.
    expect(state.checkpoint.copyMs).toBe(3_000);
  });
});

describe("chunk sizing after a chunk", () => {
  const budget = { remainingMs: () => 60_000, cpuLimitMs: Infinity };
  const checkpoint = { ...initialCheckpoint(), chunkRows: 10_000 };

  it("sizes the next full chunk toward a second of wall time, and counts its rows", () => {
    const next = afterChunk(
      checkpoint,
      "public.a",
      { rows: 10_000, lastKey: ["9"], done: false, replayed: false },
      { elapsedMs: 500, cpuMs: 0 },
      budget,
    );
    expect(next).toMatchObject({
      chunkRows: 20_000,
      lastKey: ["9"],
      rowsPerTable: { "public.a": 10_000 },
    });
  });

  it("lets a chunk take at most half the slice's CPU share", () => {
    const next = afterChunk(
      checkpoint,
      "public.a",
      { rows: 10_000, lastKey: ["9"], done: false, replayed: false },
      { elapsedMs: 500, cpuMs: 400 },
      { ...budget, cpuLimitMs: 400 },
    );
    expect(next.chunkRows).toBe(5_000);
  });

  it("keeps the size after a replayed chunk or a short last one", () => {
    const replayed = afterChunk(
      checkpoint,
      "public.a",
      { rows: 10_000, lastKey: ["9"], done: false, replayed: true },
      { elapsedMs: 1, cpuMs: 0 },
      budget,
    );
    const short = afterChunk(
      checkpoint,
      "public.a",
      { rows: 10, lastKey: ["9"], done: true, replayed: false },
      { elapsedMs: 1, cpuMs: 0 },
      budget,
    );
    expect([replayed.chunkRows, short.chunkRows]).toEqual([10_000, 10_000]);
  });
});

describe("storage", () => {
  const cursor = (objectsCopied: number) => ({
    bucketsCreated: ["b"],
    bucket: "b",
    afterName: `o${objectsCopied}`,
    objectsCopied,
    bytesCopied: objectsCopied,
  });

  it("saves each cursor it reaches and ends with the last, finished or not", async () => {
    const from: unknown[] = [];
    const { env, saved } = fakeEnv(emptyPlan, {
      copyStorageStep: async (start, onProgress) => {
        from.push(start);
        await onProgress(cursor(1));
        return { done: false, cursor: cursor(2) };
      },
    });
    const { state, finished } = await storagePhase(stateOf({ storageCursor: cursor(0) }), env);
    expect(from).toEqual([cursor(0)]);
    expect(finished).toBe(false);
    expect(saved.map((s) => s.storageCursor?.objectsCopied)).toEqual([1, 2]);
    expect(state.storageCursor).toEqual(cursor(2));
  });
});

describe("verify", () => {
  const plan = {
    ...emptyPlan,
    tables: [table("a"), table("b"), table("parent", { partitioned: true })],
    sequences: [{ schema: "public", name: "s" }],
  };

  it("verifies the tables not yet verified, then sets and compares the sequences", async () => {
    const { env, calls, saved } = fakeEnv(plan);
    const { state, finished } = await verifyPhase(stateOf({}, { verifiedTables: ["public.a"] }), env);
    expect(finished).toBe(true);
    expect(calls).toEqual(["verify b", "setval s"]);
    expect(state.checkpoint.verifiedTables).toEqual(["public.a", "public.b"]);
    expect(saved).toHaveLength(1);
  });

  it("hashes two tables at once, biggest first, each on its own sessions", async () => {
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const asked: Array<{ table: string; session?: number }> = [];
    const { env, saved } = fakeEnv({
      ...plan,
      tables: [table("small", { estimatedRows: 1 }), table("big", { estimatedRows: 100 }), table("mid")],
    }, {
      verifyTable: async (t, session) => {
        asked.push({ table: t.name, session });
        gates.set(t.name, deferred());
        await gates.get(t.name)!.promise;
        return [];
      },
    });
    const running = verifyPhase(stateOf(), env);
    await settle();
    expect(asked).toEqual([{ table: "big", session: 0 }, { table: "mid", session: 1 }]);
    gates.get("mid")!.resolve();
    await settle();
    expect(asked.at(-1)).toEqual({ table: "small", session: 1 });
    expect(saved.at(-1)!.checkpoint.verifiedTables).toEqual(["public.mid"]);
    gates.get("small")!.resolve();
    gates.get("big")!.resolve();
    const { state, finished } = await running;
    expect(finished).toBe(true);
    expect(state.checkpoint.verifiedTables).toEqual(["public.mid", "public.small", "public.big"]);
  });

  it("compares no tables of a schema-only clone", async () => {
    const { env, calls } = fakeEnv(plan);
    await verifyPhase(
      stateOf({ options: { includeData: false, includeStorage: false, schemas: ["public"] } }),
      env,
    );
    expect(calls).toEqual(["setval s"]);
  });

  it("fails for good on a mismatch, keeping all of them for status", async () => {
    const { env, saved } = fakeEnv(plan, {
      verifyTable: async (t) => (t.name === "a" ? [{ table: "public.a", source: 2, target: 1 }] : []),
      verifySequences: async () => [{ sequence: "public.s", source: 5, target: 1 }],
    });
    await expect(verifyPhase(stateOf(), env)).rejects.toMatchObject({
      code: "verify_failed",
      message: expect.stringContaining("public.a, public.s"),
    });
    expect(saved.at(-1)?.mismatches).toHaveLength(2);
  });

  it("stops between tables when the budget runs out, keeping what it found", async () => {
    const { env, calls } = fakeEnv(plan, {
      verifyTable: async () => [{ table: "public.a", source: 2, target: 1 }],
    }, 1);
    const { state, finished } = await verifyPhase(stateOf(), env);
    expect(finished).toBe(false);
    expect(state.checkpoint.verifiedTables).toEqual(["public.a"]);
    expect(state.mismatches).toHaveLength(1);
    expect(calls).toEqual([]);
  });
});

describe("progress", () => {
  it("weighs copied rows most and stays under 100 until done", () => {
    const checkpoint = {
      ...initialCheckpoint(),
      completedPhases: ["preflight", "types", "schema"] as Phase[],
      rowsPerTable: { "public.a": 50 },
    };
    expect(cloneProgress(checkpoint, { totals: { "public.a": 100 } })).toBe(Math.round(15 + 32.5));
    expect(
      cloneProgress({
        ...checkpoint,
        completedPhases: ["preflight", "types", "schema", "data", "post_data", "storage", "verify"],
      }, {}),
    ).toBe(99);
  });
});
