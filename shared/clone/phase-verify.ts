/**
 * verify: each copied table's count and hash compared (table by table, checkpointed: hashing a
 * large database may take more than one slice), then the sequences set and compared, then the
 * storage. Any mismatch fails the job for good (verify_failed), with the mismatches kept for status.
 */
import { PermanentTaskError } from "../errors.ts";
import { type ClonePhase, tableName, withCheckpoint } from "./clone-phase.ts";

export const verifyPhase: ClonePhase = async (state, env) => {
  const { tables, sequences } = await env.plan();
  const mismatches = [...(state.mismatches ?? [])];
  const toVerify = state.options.includeData ? tables.filter((t) => !t.partitioned) : [];
  for (const table of toVerify) {
    const name = tableName(table);
    if ((state.checkpoint.verifiedTables ?? []).includes(name)) continue;
    if (env.shouldYield()) return { state, finished: false };
    mismatches.push(...await env.ops.verifyTable(table));
    state = {
      ...withCheckpoint(state, { verifiedTables: [...(state.checkpoint.verifiedTables ?? []), name] }),
      mismatches: [...mismatches],
    };
    await env.save(state);
  }
  // Sequence values are read at the very end, after the data they numbered.
  for (const seq of sequences) await env.ops.syncSequence(seq);
  mismatches.push(...await env.ops.verifySequences(sequences));
  if (state.options.includeStorage) mismatches.push(...await env.ops.verifyStorage());
  if (mismatches.length > 0) {
    state = { ...state, mismatches };
    await env.save(state);
    throw new PermanentTaskError(
      "verify_failed",
      `verification found ${mismatches.length} mismatch(es): ${
        mismatches.slice(0, 5).map(describeMismatch).join(", ")
      }`,
    );
  }
  return { state, finished: true };
};

function describeMismatch(
  m: { table?: string; sequence?: string; bucket?: string; object?: string },
): string {
  return m.table ?? m.sequence ?? (m.object ? `${m.bucket}/${m.object}` : `bucket ${m.bucket}`);
}
