/**
 * verify: each copied table's count and hash compared (checkpointed: hashing a large database may
 * take more than one slice), then the sequences set and compared, then the storage. Any mismatch
 * fails the job for good (verify_failed), with the mismatches kept for status. Tables are hashed
 * VERIFY_SESSIONS at a time, biggest first (each on its own source and target session, both sides
 * at once), after the whole copy: a row changed on the source while the data phase ran is still
 * caught, whichever table it is in.
 */
import { PermanentTaskError } from "../errors.ts";
import { type ClonePhase, tableName, withCheckpoint } from "./clone-phase.ts";
import { runInLanes } from "./parallel-lanes.ts";

/** Pairs of sessions hashing tables at once: each pair keeps one backend busy on either side. */
export const VERIFY_SESSIONS = 2;

export const verifyPhase: ClonePhase = async (state, env) => {
  const { tables, sequences } = await env.plan();
  const mismatches = [...(state.mismatches ?? [])];
  const toVerify = (state.options.includeData ? tables.filter((t) => !t.partitioned) : [])
    .filter((t) => !(state.checkpoint.verifiedTables ?? []).includes(tableName(t)))
    // Biggest first, so the last table to finish is a small one and no session waits long alone.
    .sort((a, b) => b.estimatedRows - a.estimatedRows);
  if (toVerify.length > 0) {
    const sessions = await env.ops.openSessions(Math.min(VERIFY_SESSIONS, toVerify.length), "both");
    const found = new Map<string, Awaited<ReturnType<typeof env.ops.verifyTable>>>();
    const all = await runInLanes(toVerify, {
      lanes: sessions,
      shouldStop: () => env.shouldYield(),
      run: async (table, lane) => void found.set(tableName(table), await env.ops.verifyTable(table, lane)),
      async finished(table) {
        const name = tableName(table);
        mismatches.push(...found.get(name)!);
        state = {
          ...withCheckpoint(state, { verifiedTables: [...(state.checkpoint.verifiedTables ?? []), name] }),
          mismatches: [...mismatches],
        };
        await env.save(state);
      },
    });
    if (!all) return { state, finished: false };
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
