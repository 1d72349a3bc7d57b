/**
 * The clone's phases in order (clone-state.ts PHASES), each a function over the clone's state,
 * and the loop that drives them: a phase entered is saved before it starts, a phase finished is
 * saved as completed, and a phase the slice's budget interrupted hands the state back for the
 * next slice.
 */
import {
  type ClonePhase,
  type ClonePhaseEnv,
  type CloneState,
  type PhaseResult,
  withCheckpoint,
} from "./clone-phase.ts";
import { nextPhase, type Phase } from "./clone-state.ts";
import { dataPhase } from "./phase-data.ts";
import { preflightPhase } from "./phase-preflight.ts";
import { statementsPhase } from "./phase-statements.ts";
import { storagePhase } from "./phase-storage.ts";
import { verifyPhase } from "./phase-verify.ts";

export const CLONE_PHASES: Record<Phase, ClonePhase> = {
  preflight: preflightPhase,
  types: statementsPhase("types"),
  schema: statementsPhase("schema"),
  data: dataPhase,
  post_data: statementsPhase("postData"),
  storage: storagePhase,
  verify: verifyPhase,
};

/** The state as a phase starts: its statement count starts over. */
export const enterPhase = (state: CloneState, phase: Phase): CloneState =>
  withCheckpoint(state, { phase, statementsApplied: 0 });

/** The state once a phase finished. */
export const completePhase = (state: CloneState, phase: Phase): CloneState =>
  withCheckpoint(state, { completedPhases: [...state.checkpoint.completedPhases, phase] });

/** Runs the phases left (as the job's options pick them) until all finished or one yields. */
export async function runClonePhases(
  state: CloneState,
  env: ClonePhaseEnv,
  phases: Record<Phase, ClonePhase> = CLONE_PHASES,
): Promise<PhaseResult> {
  for (
    let phase = nextPhase(state.checkpoint, state.options);
    phase;
    phase = nextPhase(state.checkpoint, state.options)
  ) {
    if (state.checkpoint.phase !== phase) {
      state = enterPhase(state, phase);
      await env.save(state);
    }
    const result = await phases[phase](state, env);
    state = result.state;
    if (!result.finished) return { state, finished: false };
    state = completePhase(state, phase);
    await env.save(state);
  }
  return { state, finished: true };
}
