/**
 * types, schema and post_data: the plan's DDL for the phase, one statement at a time, each saved
 * as applied (checkpoint.statementsApplied), so a resumed slice goes on with the next one.
 */
import { type ClonePhase, withCheckpoint } from "./clone-phase.ts";

export function statementsPhase(part: "types" | "schema" | "postData"): ClonePhase {
  return async (state, env) => {
    const statements = (await env.plan())[part];
    while (state.checkpoint.statementsApplied < statements.length) {
      if (env.shouldYield()) return { state, finished: false };
      await env.ops.applyStatement(statements[state.checkpoint.statementsApplied]);
      state = withCheckpoint(state, { statementsApplied: state.checkpoint.statementsApplied + 1 });
      await env.save(state);
    }
    return { state, finished: true };
  };
}
