/** storage: this project's buckets and objects onto the target project, from the saved cursor on. */
import type { ClonePhase } from "./clone-phase.ts";

export const storagePhase: ClonePhase = async (state, env) => {
  const { done, cursor } = await env.ops.copyStorageStep(state.storageCursor ?? null, async (progress) => {
    state = { ...state, storageCursor: progress };
    await env.save(state);
  });
  state = { ...state, storageCursor: cursor };
  await env.save(state);
  return { state, finished: done };
};
