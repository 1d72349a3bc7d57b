/**
 * preflight: the target answers, is not the source and holds none of the plan's objects; its job
 * ledger exists; the per-table row estimates are recorded (the status's totals), whether both
 * servers share a major version (COPY binary, copy-format.ts), and what the
 * plan left out because the target cannot host it (the status's warnings; the plan step refuses
 * the job when a cloned object needs it, before anything is moved).
 */
import { PermanentTaskError } from "../errors.ts";
import { type ClonePhase, tableName } from "./clone-phase.ts";
import { majorVersion } from "./copy-format.ts";

export const preflightPhase: ClonePhase = async (state, env) => {
  const targetIdentity = await env.ops.targetIdentity();
  if (targetIdentity === await env.ops.sourceIdentity()) {
    throw new PermanentTaskError("target_is_source", "the target is the source database itself");
  }
  const cloned = await env.plan();
  // A job resumed after its preflight recorded objects must not trip over its own work.
  await env.step("preflight-conflicts", async () => {
    const conflicts = await env.ops.findConflicts(cloned);
    if (conflicts.length > 0) {
      throw new PermanentTaskError(
        "target_not_empty",
        `the target already has: ${conflicts.slice(0, 20).join(", ")}`,
      );
    }
    return conflicts;
  });
  await env.ops.ensureLedger();
  const totals = Object.fromEntries(
    cloned.tables.filter((t) => !t.partitioned).map((t) => [tableName(t), t.estimatedRows]),
  );
  // Read once per job, so every slice copies a table in the same format.
  const versions = await env.ops.serverVersions();
  const binaryCopy = majorVersion(versions.source) === majorVersion(versions.target);
  const next = { ...state, totals, warnings: cloned.skipped ?? state.warnings, binaryCopy };
  await env.save(next);
  return { state: next, finished: true };
};
