/**
 * The clone-database task: one slice at a time, phase by phase (clone-phases.ts), from the
 * checkpoint in metadata.clone. Every unit of work is idempotent on the target (DDL through the
 * target ledger, rows through key-range chunks), so a kill at any moment costs at most the unit
 * in flight.
 */
import { cloneTargetBinding, cloneTargetStorageBinding } from "../crypto/secret-bindings.ts";
import type { TaskContext } from "../engine/task-context.ts";
import type { SliceOutcome } from "../engine/task-context.ts";
import { type CloneMetadata, cloneProgress } from "./clone-state.ts";
import { cloneWirePool, openCloneConnection, openCloneWire } from "./clone-connections.ts";
import { type ClonePhaseEnv, type CloneState } from "./clone-phase.ts";
import { runClonePhases } from "./clone-phases.ts";
import { cloneOps, type CloneTaskDeps } from "./clone-ops.ts";
import { cloneSessions } from "./clone-sessions.ts";
import { withoutOwnJobRows } from "./own-job-rows.ts";
import { readClonePlan } from "./schema-plan.ts";
import { forgetJob } from "./target-ledger.ts";
import type { TaskKind } from "../engine/task-routes.ts";
import { connectCloneTarget, connectCloneTargetWire } from "./clone-target.ts";
import { checkTargetHosting, TargetCannotHostError, withoutSkipped } from "./target-hosting.ts";
import { PermanentTaskError, RetryableTaskError } from "../errors.ts";
import { TargetUnreachableError } from "./target-probe.ts";

export type { CloneTaskDeps };

export const CLONE_KIND = "clone.database" satisfies TaskKind;

export function createCloneHandler(deps: CloneTaskDeps) {
  return async function cloneSlice(ctx: TaskContext): Promise<SliceOutcome> {
    const clone = { ...(ctx.metadata.clone as CloneMetadata) };
    const checkpoint = { ...clone.checkpoint };
    // Workers keep dying before a chunk commits: halve the chunk per lost lease, so one fits.
    if (ctx.task.stalls > 0) {
      checkpoint.chunkRows = Math.max(1_000, Math.floor(checkpoint.chunkRows / 2 ** ctx.task.stalls));
    }
    const targetUrl = await deps.secrets.open(clone.target, cloneTargetBinding(ctx.task.id));
    // Mid key rotation: this slice's checkpoints write the clone metadata back, so they must carry
    // values sealed under the current key, or they would undo what secrets:rotate re-sealed.
    if (!(await deps.secrets.isCurrent(clone.target))) {
      clone.target = await deps.secrets.seal(targetUrl, cloneTargetBinding(ctx.task.id));
    }
    if (clone.targetStorage && !(await deps.secrets.isCurrent(clone.targetStorage))) {
      const binding = cloneTargetStorageBinding(ctx.task.id);
      clone.targetStorage = await deps.secrets.seal(
        await deps.secrets.open(clone.targetStorage, binding),
        binding,
      );
    }
    // A refused target (400 target_not_allowed) fails the job for good; a name that does not
    // resolve right now is retried like any unreachable target.
    const concurrency = deps.concurrency ?? 1;
    const target = await retriedIfUnreachable(() =>
      connectCloneTarget(targetUrl, deps.targets, "reelforge-clone-target")
    );
    const source = openCloneConnection(deps.sourceUrl, "reelforge-clone-source");
    const sessions = cloneSessions({ source, target }, {
      source: () => openCloneConnection(deps.sourceUrl, "reelforge-clone-source"),
      target: () =>
        retriedIfUnreachable(() => connectCloneTarget(targetUrl, deps.targets, "reelforge-clone-target")),
    });
    const sourceWires = cloneWirePool(() => openCloneWire(deps.sourceUrl, "reelforge-clone-source"));
    const targetWires = cloneWirePool(() =>
      retriedIfUnreachable(() => connectCloneTargetWire(targetUrl, deps.targets, "reelforge-clone-target"))
    );
    const env: ClonePhaseEnv = {
      plan: () =>
        ctx.effect("plan", async () => {
          const roles = await target`select rolname from pg_roles`;
          const plan = await readClonePlan(
            source,
            clone.options.schemas,
            new Set(roles.map((r) => r.rolname as string)),
          );
          // Checked at start too; again here, before any phase moves anything, for a target that
          // was unreachable then or changed since.
          const hosting = await checkTargetHosting(target, plan);
          if (hosting.refused.length > 0) {
            const refusal = new TargetCannotHostError(hosting.refused);
            throw new PermanentTaskError(refusal.code, refusal.message);
          }
          const hostable = withoutSkipped(plan, hosting);
          return { ...hostable, tables: withoutOwnJobRows(hostable.tables, ctx.task.id) };
        }),
      save: (state: CloneState) => ctx.checkpoint({ clone: state }, cloneProgress(state.checkpoint, state)),
      step: (name, run) => ctx.effect(name, run),
      shouldYield: () => ctx.shouldYield(),
      concurrency,
      budget: ctx.budget,
      now: () => Date.now(),
      ops: cloneOps({
        deps,
        source,
        sourceWires,
        targetWires,
        target,
        task: ctx.task,
        budget: ctx.budget,
        targetStorage: clone.targetStorage,
        sessions,
      }),
    };

    try {
      const { state, finished } = await runClonePhases({ ...clone, checkpoint }, env);
      if (!finished) return { type: "continue", metadata: { clone: state } };
      await forgetJob(target, ctx.task.id);
      const rows = Object.values(state.checkpoint.rowsPerTable).reduce((a, b) => a + b, 0);
      return {
        type: "done",
        result: { verified: true, tables: Object.keys(state.totals ?? {}).length, rows },
      };
    } finally {
      sourceWires.close();
      targetWires.close();
      await Promise.allSettled([source.end({ timeout: 1 }), target.end({ timeout: 1 }), sessions.close()]);
    }
  };
}

/**
 * A target that stops answering during a job (it answered at start) is retried with backoff like
 * any lost connection, not failed for good as a 422 would be; the status says target_unreachable.
 */
async function retriedIfUnreachable<T>(connect: () => Promise<T>): Promise<T> {
  try {
    return await connect();
  } catch (error) {
    if (error instanceof TargetUnreachableError) throw new RetryableTaskError(error.code, error.message);
    throw error;
  }
}
