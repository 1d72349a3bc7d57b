/**
 * data: every non-partitioned table of the plan, table by table. A keyed table goes in key-range
 * chunks, each committed on the target before the checkpoint moves past it; a keyless one in one
 * go (an interrupted one starts over, and the status says so).
 */
import type { CloneCheckpoint } from "./clone-state.ts";
import { nextChunkRows } from "./clone-state.ts";
import {
  type ClonePhase,
  type ClonePhaseEnv,
  type CloneState,
  tableName,
  withCheckpoint,
} from "./clone-phase.ts";
import type { ChunkResult } from "./copy-chunk.ts";
import type { TableInfo } from "./schema-plan.ts";

/**
 * How long one chunk should take. A kill loses the chunk in flight, so shorter chunks lose less;
 * each chunk costs a key lookup and a target commit (a few ms), so much shorter ones add up.
 */
const CHUNK_TARGET_MS = 1_000;

export const dataPhase: ClonePhase = async (state, env) => {
  // A job that passed preflight before the ledger recorded chunks gets the table now.
  await env.ops.ensureLedger();
  for (const table of (await env.plan()).tables) {
    const name = tableName(table);
    if (table.partitioned || state.checkpoint.completedTables.includes(name)) continue;
    if (env.shouldYield()) return { state, finished: false };
    if (state.checkpoint.currentTable !== name) {
      state = withCheckpoint(state, { currentTable: name, lastKey: null });
      await env.save(state);
    } else if (!table.key && !state.checkpoint.restartedFromZero.includes(name)) {
      // An interrupted keyless table has no chunk to resume from: it starts over.
      state = withCheckpoint(state, { restartedFromZero: [...state.checkpoint.restartedFromZero, name] });
    }
    const copied = table.key
      ? await copyKeyedTable(state, env, table, name)
      : await copyKeylessTable(state, env, table, name);
    state = copied.state;
    if (!copied.finished) return { state, finished: false };
    state = withCheckpoint(state, {
      completedTables: [...state.checkpoint.completedTables, name],
      currentTable: null,
      lastKey: null,
    });
    await env.save(state);
  }
  return { state, finished: true };
};

async function copyKeyedTable(state: CloneState, env: ClonePhaseEnv, table: TableInfo, name: string) {
  for (;;) {
    if (env.shouldYield()) return { state, finished: false };
    const started = env.now();
    const cpuBefore = env.budget.cpuSpentMs();
    const chunk = await env.ops.copyChunk(table, state.checkpoint.lastKey, state.checkpoint.chunkRows);
    const elapsedMs = env.now() - started;
    const cpuAfter = env.budget.cpuSpentMs();
    const cpuMs = cpuBefore === null || cpuAfter === null ? 0 : cpuAfter - cpuBefore;
    // Only now, with the chunk committed on the target, does the checkpoint move.
    state = {
      ...state,
      checkpoint: afterChunk(state.checkpoint, name, chunk, { elapsedMs, cpuMs }, env.budget),
    };
    await env.save(state);
    if (chunk.done) return { state, finished: true };
  }
}

async function copyKeylessTable(state: CloneState, env: ClonePhaseEnv, table: TableInfo, name: string) {
  const started = env.now();
  const { rows } = await env.ops.copyWholeTable(table);
  state = withCheckpoint(state, {
    rowsPerTable: { ...state.checkpoint.rowsPerTable, [name]: rows },
    copyMs: state.checkpoint.copyMs + env.now() - started,
  });
  return { state, finished: true };
}

/**
 * The checkpoint after a committed chunk: past its last key, its rows and time counted, and the
 * next chunk sized so it takes about CHUNK_TARGET_MS (or a third of what the slice has left) and
 * half the slice's CPU share at most.
 */
export function afterChunk(
  checkpoint: CloneCheckpoint,
  name: string,
  chunk: ChunkResult,
  spent: { elapsedMs: number; cpuMs: number },
  budget: Pick<ClonePhaseEnv["budget"], "remainingMs" | "cpuLimitMs">,
): CloneCheckpoint {
  const next = {
    ...checkpoint,
    lastKey: chunk.lastKey,
    rowsPerTable: { ...checkpoint.rowsPerTable, [name]: (checkpoint.rowsPerTable[name] ?? 0) + chunk.rows },
    copyMs: checkpoint.copyMs + spent.elapsedMs,
  };
  // A replayed chunk took no time and says nothing about the copy's speed.
  if (!chunk.replayed && chunk.rows >= checkpoint.chunkRows) {
    const byWall = nextChunkRows(
      chunk.rows,
      spent.elapsedMs,
      Math.min(CHUNK_TARGET_MS, budget.remainingMs() / 3),
    );
    // Relaying rows costs the worker CPU, which the platform limits per worker: a slice
    // always copies at least one chunk, so a chunk may take half the slice's CPU share.
    const byCpu = spent.cpuMs > 0 ? nextChunkRows(chunk.rows, spent.cpuMs, budget.cpuLimitMs / 2) : byWall;
    next.chunkRows = Math.min(byWall, byCpu);
  }
  return next;
}
