/**
 * data: every non-partitioned table of the plan, a few at once (env.concurrency). A keyed table
 * goes in key-range chunks, a keyless one in ranges of heap pages, each committed on the target
 * before the checkpoint moves past it. The checkpoint holds a cursor per table in flight, so a
 * kill costs at most the chunk each one had in flight.
 */
import type { CloneCheckpoint } from "./clone-state.ts";
import { nextChunkRows } from "./clone-state.ts";
import { type ClonePhase, type ClonePhaseEnv, type CloneState, tableName } from "./clone-phase.ts";
import type { ChunkResult } from "./copy-chunk.ts";
import { copyFormat } from "./copy-format.ts";
import { PermanentTaskError } from "../errors.ts";
import { runInLanes } from "./parallel-lanes.ts";
import type { TableInfo } from "./schema-plan.ts";

/**
 * How long one chunk should take. A kill loses the chunk in flight, so shorter chunks lose less;
 * each chunk costs a key lookup and a target commit (a few ms), so much shorter ones add up.
 */
const CHUNK_TARGET_MS = 1_000;

type Cursors = Record<string, string[] | null>;

/** The cursors of the tables in flight; a checkpoint from before concurrent copies has one at most. */
export function tablesInFlight(checkpoint: CloneCheckpoint): Cursors {
  const cursors = { ...(checkpoint.tablesInFlight ?? {}) };
  if (checkpoint.currentTable && !(checkpoint.currentTable in cursors)) {
    cursors[checkpoint.currentTable] = checkpoint.lastKey;
  }
  return cursors;
}

/** The checkpoint with these tables in flight; currentTable/lastKey name the first of them. */
function withCursors(checkpoint: CloneCheckpoint, cursors: Cursors): CloneCheckpoint {
  const first = Object.keys(cursors)[0] ?? null;
  return {
    ...checkpoint,
    tablesInFlight: cursors,
    currentTable: first,
    lastKey: first === null ? null : cursors[first],
  };
}

export const dataPhase: ClonePhase = async (initial, env) => {
  // A job that passed preflight before the ledger recorded chunks gets the table now.
  await env.ops.ensureLedger();
  const tables = (await env.plan()).tables.filter((table) => !table.partitioned);
  const run = new DataRun(initial, env);
  const inFlight = tablesInFlight(initial.checkpoint);
  // Tables a killed slice had in flight first: their ranges are partly on the target already.
  const queue = [
    ...tables.filter((table) => tableName(table) in inFlight),
    ...tables.filter((table) => !(tableName(table) in inFlight)),
  ].filter((table) => !initial.checkpoint.completedTables.includes(tableName(table)));
  // As many tables at once as the target takes connections for (fewer than asked on a server
  // or role with few left).
  const lanes = queue.length === 0
    ? 1
    : await env.ops.openCopyLanes(Math.min(env.concurrency ?? 1, queue.length));
  await runInLanes(queue, {
    lanes,
    shouldStop: () => run.stopped || env.shouldYield(),
    run: async (table) => {
      // A table cut short (the slice ran out) or failed stops the others after their chunk in flight.
      try {
        if (!(await run.copyTable(table))) run.stopped = true;
      } catch (error) {
        run.stopped = true;
        throw refusedRows(error, table) ?? error;
      }
    },
    // copyTable records a finished table in the checkpoint itself.
    finished: async () => {},
  });
  const done = tables.every((table) => run.state.checkpoint.completedTables.includes(tableName(table)));
  return { state: run.state, finished: done };
};

/**
 * One slice of the data phase: the state the lanes share, its saves in order, the CPU it spent
 * and the wall time rows were moving.
 */
class DataRun {
  /** A lane yielded or failed: the others stop after their chunk in flight. */
  stopped = false;
  #saving: Promise<void> = Promise.resolve();
  #cpuMark: number | null;
  /** Lanes with a copy in flight, since when that count last changed, and the copy time not yet counted. */
  #copying = 0;
  #copyingSince = 0;
  #copyMsToCount = 0;

  constructor(public state: CloneState, private env: ClonePhaseEnv) {
    this.#cpuMark = env.budget.cpuSpentMs();
  }

  /** Copies the table to its end (true) or until the slice should yield (false). */
  async copyTable(table: TableInfo): Promise<boolean> {
    const name = tableName(table);
    const cursors = tablesInFlight(this.state.checkpoint);
    if (!(name in cursors)) await this.#update((c) => withCursors(c, { ...cursors, [name]: null }));
    if (!(await this.#copyChunks(table, name))) return false;
    await this.#update((c) => {
      const { [name]: _, ...rest } = tablesInFlight(c);
      return withCursors({ ...c, completedTables: [...c.completedTables, name] }, rest);
    });
    return true;
  }

  async #copyChunks(table: TableInfo, name: string): Promise<boolean> {
    for (;;) {
      if (this.stopped || this.env.shouldYield()) return false;
      const started = this.env.now();
      const cpuBefore = this.env.budget.cpuSpentMs();
      const after = tablesInFlight(this.state.checkpoint)[name] ?? null;
      this.#lanesCopying(+1);
      const chunk = await this.env.ops.copyChunk(
        table,
        after,
        this.state.checkpoint.chunkRows,
        copyFormat(table, this.state.binaryCopy),
      ).finally(() => this.#lanesCopying(-1));
      const elapsedMs = this.env.now() - started;
      const cpuAfter = this.env.budget.cpuSpentMs();
      // With several lanes this counts their CPU too: chunks come out smaller, never too big.
      const cpuMs = cpuBefore === null || cpuAfter === null ? 0 : cpuAfter - cpuBefore;
      // Only now, with the chunk committed on the target, does the checkpoint move.
      await this.#update((c) => afterChunk(c, name, chunk, { elapsedMs, cpuMs }, this.env.budget));
      if (chunk.done) return true;
    }
  }

  /**
   * A lane starts (+1) or ends (-1) a copy. The time any lane copied counts once toward copyMs,
   * which status divides the rows by: summed per lane, two lanes showed half the speed and twice
   * the time left.
   */
  #lanesCopying(change: 1 | -1): void {
    const now = this.env.now();
    if (this.#copying > 0) this.#copyMsToCount += now - this.#copyingSince;
    this.#copying += change;
    this.#copyingSince = now;
  }

  /** Changes the checkpoint, counts the CPU and copy time spent since the last change, and saves, in order. */
  async #update(change: (checkpoint: CloneCheckpoint) => CloneCheckpoint): Promise<void> {
    const checkpoint = change(this.state.checkpoint);
    checkpoint.copyMs += this.#copyMsToCount;
    this.#copyMsToCount = 0;
    const cpuNow = this.env.budget.cpuSpentMs();
    if (cpuNow !== null && this.#cpuMark !== null) {
      checkpoint.copyCpuMs = (checkpoint.copyCpuMs ?? 0) + Math.max(0, cpuNow - this.#cpuMark);
    }
    this.#cpuMark = cpuNow;
    this.state = { ...this.state, checkpoint };
    const saved = this.#saving.then(() => this.env.save(this.state));
    this.#saving = saved.catch(() => {});
    await saved;
  }
}

/**
 * The checkpoint after a committed chunk: the table's cursor past its last key, its rows counted,
 * and the next chunk sized so it takes about CHUNK_TARGET_MS (or a third of what the
 * slice has left) and half the slice's CPU share at most.
 */
export function afterChunk(
  checkpoint: CloneCheckpoint,
  name: string,
  chunk: ChunkResult,
  spent: { elapsedMs: number; cpuMs: number },
  budget: Pick<ClonePhaseEnv["budget"], "remainingMs" | "cpuLimitMs">,
): CloneCheckpoint {
  const next = withCursors({
    ...checkpoint,
    rowsPerTable: { ...checkpoint.rowsPerTable, [name]: (checkpoint.rowsPerTable[name] ?? 0) + chunk.rows },
  }, { ...tablesInFlight(checkpoint), [name]: chunk.lastKey });
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

/** SQLSTATE classes of errors a copy meets again on every attempt: data, integrity, program limits. */
const REFUSAL_CLASSES = ["22", "23", "54"];
const CONDITIONS: Record<string, string> = {
  "22001": "string_data_right_truncation",
  "22003": "numeric_value_out_of_range",
  "23502": "not_null_violation",
  "23503": "foreign_key_violation",
  "23505": "unique_violation",
  "23514": "check_violation",
  "54000": "program_limit_exceeded",
};

/**
 * A copy refused for its rows (a check, a limit) fails the job at once, naming the table and the
 * SQLSTATE: retried, it failed the same way 8 times and the job said only "clone_error". The
 * server's own text stays in the log: it can quote the rows' values.
 */
function refusedRows(error: unknown, table: TableInfo): PermanentTaskError | null {
  const code = (error as { code?: unknown }).code;
  if (
    typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code) || !REFUSAL_CLASSES.includes(code.slice(0, 2))
  ) {
    return null;
  }
  const condition = CONDITIONS[code] ? ` ${CONDITIONS[code]}` : "";
  const name = tableName(table);
  const refusal = new PermanentTaskError(
    "rows_refused",
    `copying ${name} failed with SQLSTATE ${code}${condition}, which a retry meets again; the function log under this job has the server's message`,
  );
  return Object.assign(refusal, { cause: error });
}
