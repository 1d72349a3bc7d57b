/**
 * What a clone phase is: a function from the clone's state (its metadata, checkpoint inside) to
 * the next state, told whether the phase finished or the slice ran out first. Phases touch the
 * databases and storages only through CloneOps (clone-ops.ts), so their rules can be tested
 * with fakes; they persist the state through `env.save` after every unit of work, which is what
 * makes a kill cost at most the unit in flight.
 */
import type { SliceBudget } from "../engine/slice-budget.ts";
import type { CloneCheckpoint, CloneMetadata } from "./clone-state.ts";
import type { StorageCursor, StorageMismatch } from "./clone-storage.ts";
import type { ChunkResult } from "./copy-chunk.ts";
import type { CopyFormat } from "./copy-format.ts";
import type { ClonePlan, DdlStatement, TableInfo } from "./schema-plan.ts";
import type { CloneMismatch } from "./verify.ts";

/** The state every phase takes and returns: background_tasks.metadata.clone. */
export type CloneState = CloneMetadata;

export interface PhaseResult {
  state: CloneState;
  /** False when the slice's budget ran out before the phase's last unit of work. */
  finished: boolean;
}

/** Everything a phase does to the source, the target and the storages. */
export interface CloneOps {
  /** The target's identity; an unreachable target fails the job (target_unreachable). */
  targetIdentity(): Promise<string>;
  sourceIdentity(): Promise<string>;
  /** Both servers' server_version_num, for the COPY format (copy-format.ts). */
  serverVersions(): Promise<{ source: number; target: number }>;
  /** Objects of the plan that the target already has. */
  findConflicts(plan: ClonePlan): Promise<string[]>;
  /** Creates the target's job ledger if it is missing. */
  ensureLedger(): Promise<void>;
  /**
   * Makes sure `wanted` sessions (0..wanted-1) are open on the target, and on the source too for
   * "both"; answers how many are, at least 1: fewer when the server refuses more connections.
   */
  openSessions(wanted: number, sides: "target" | "both"): Promise<number>;
  /** Applies one DDL statement at most once per job (the target ledger), on target session `session` (default 0). */
  applyStatement(statement: DdlStatement, session?: number): Promise<void>;
  copyChunk(
    table: TableInfo,
    after: string[] | null,
    maxRows: number,
    format?: CopyFormat,
  ): Promise<ChunkResult>;
  /** Opens up to `wanted` target connections for copies at once; how many it could (clone-connections.ts `reserve`). */
  openCopyLanes(wanted: number): Promise<number>;
  /** Copies storage from `cursor` until done or the budget ends; `onProgress` gets each new cursor. */
  copyStorageStep(
    cursor: StorageCursor | null,
    onProgress: (cursor: StorageCursor) => Promise<void>,
  ): Promise<{ done: boolean; cursor: StorageCursor }>;
  /** Compares the table's count and hash on both sides, on sessions `session` (default 0). */
  verifyTable(table: TableInfo, session?: number): Promise<CloneMismatch[]>;
  /** Sets the target's sequence to the source's current value. */
  syncSequence(sequence: { schema: string; name: string }): Promise<void>;
  verifySequences(sequences: { schema: string; name: string }[]): Promise<CloneMismatch[]>;
  verifyStorage(): Promise<StorageMismatch[]>;
}

/** What phases get besides the state: the plan, the slice's budget, persistence, the operations. */
export interface ClonePhaseEnv {
  /** The job's plan, read once and recorded as a task step: the same on every call. */
  plan(): Promise<ClonePlan>;
  /** Persists the state as the task's checkpoint: a kill resumes from the last one saved. */
  save(state: CloneState): Promise<void>;
  /** Runs `run` once per job (a task step): a replay answers its recorded result. */
  step<T>(name: string, run: () => Promise<T>): Promise<T>;
  shouldYield(): boolean;
  /** Tables the data phase copies at once; 1 when absent. */
  concurrency?: number;
  budget: Pick<SliceBudget, "remainingMs" | "cpuSpentMs" | "cpuLimitMs">;
  now(): number;
  ops: CloneOps;
}

export type ClonePhase = (state: CloneState, env: ClonePhaseEnv) => Promise<PhaseResult>;

/** The state with its checkpoint changed. */
export const withCheckpoint = (state: CloneState, change: Partial<CloneCheckpoint>): CloneState => ({
  ...state,
  checkpoint: { ...state.checkpoint, ...change },
});

/** `schema.name`, as the checkpoint names tables. */
export const tableName = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;
