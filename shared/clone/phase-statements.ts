/**
 * types, schema and post_data: the plan's DDL for the phase, in plan order, each statement
 * applied at most once per job (the target ledger). checkpoint.statementsApplied counts the
 * statements from the phase's first that are all applied, so a resumed slice goes on from there;
 * one past it that a parallel session finished already is found in the ledger and skipped.
 *
 * Which statements run in parallel: the catalog readers mark the builds that lock only known
 * tables (indexes, primary/unique/exclusion keys, foreign keys: DdlStatement.tables). A run of
 * consecutive marked statements goes on up to PARALLEL_SESSIONS target sessions, where a statement
 * starts once every earlier statement of the run that shares a table with it has finished: a
 * table's own statements keep the plan's order (its key before its other indexes, a foreign key
 * after the keys of both its tables) and no two sessions ever lock the same table, so none waits
 * on another and none can deadlock. Any unmarked statement (a view, a refresh, an attach, a
 * check, a trigger, a policy, a grant, a comment) runs alone, after everything before it
 * finished, so it finds every object the plan made before it.
 */
import { type ClonePhase, type ClonePhaseEnv, type CloneState, withCheckpoint } from "./clone-phase.ts";
import { runInLanes } from "./parallel-lanes.ts";
import type { DdlStatement } from "./schema-plan.ts";

/**
 * Target sessions for a run of builds. Each build sorts on the target (Postgres may add its own
 * parallel workers to one); three keep a small server's cores busy while a slice holds at most
 * two connections more than its own.
 */
export const PARALLEL_SESSIONS = 3;

export function statementsPhase(part: "types" | "schema" | "postData"): ClonePhase {
  return async (state, env) => {
    const statements = (await env.plan())[part];
    while (state.checkpoint.statementsApplied < statements.length) {
      const from = state.checkpoint.statementsApplied;
      const run = parallelRun(statements, from);
      if (run.length > 1) {
        const applied = await applyRun(state, env, run, from);
        state = applied.state;
        if (!applied.finished) return { state, finished: false };
        continue;
      }
      if (env.shouldYield()) return { state, finished: false };
      await env.ops.applyStatement(statements[from]);
      state = withCheckpoint(state, { statementsApplied: from + 1 });
      await env.save(state);
    }
    return { state, finished: true };
  };
}

/** The marked statements from `from` on, up to the first unmarked one. */
function parallelRun(statements: DdlStatement[], from: number): DdlStatement[] {
  let end = from;
  while (end < statements.length && statements[end].tables?.length) end++;
  return statements.slice(from, end);
}

const shareTable = (later: DdlStatement, earlier: DdlStatement) =>
  later.tables!.some((table) => earlier.tables!.includes(table));

async function applyRun(state: CloneState, env: ClonePhaseEnv, run: DdlStatement[], from: number) {
  const sessions = await env.ops.openSessions(PARALLEL_SESSIONS, "target");
  const finished = new Set<number>();
  const all = await runInLanes(run, {
    lanes: sessions,
    waitsFor: shareTable,
    shouldStop: () => env.shouldYield(),
    run: (statement, lane) => env.ops.applyStatement(statement, lane),
    async finished(_statement, index) {
      finished.add(from + index);
      let applied = state.checkpoint.statementsApplied;
      while (finished.has(applied)) applied++;
      if (applied === state.checkpoint.statementsApplied) return;
      state = withCheckpoint(state, { statementsApplied: applied });
      await env.save(state);
    },
  });
  return { state, finished: all };
}
