/**
 * The clone's checkpoint as kept in background_tasks.metadata.clone,
 * and the pure rules read from it: what the status shows, how big the next chunk is.
 */
import type { StoredSecret } from "../crypto/secret-box.ts";
import type { HostingFinding } from "./catalog-read.ts";
import type { CloneMismatch } from "./verify.ts";
import type { StorageCursor, StorageMismatch } from "./clone-storage.ts";

export const PHASES = ["preflight", "types", "schema", "data", "post_data", "storage", "verify"] as const;
export type Phase = typeof PHASES[number];

export interface CloneOptions {
  includeData: boolean;
  includeStorage: boolean;
  schemas: string[];
}

export interface CloneCheckpoint {
  phase: Phase;
  completedPhases: Phase[];
  completedTables: string[];
  /** The first of `tablesInFlight` (what status and resume's fromTable show), or null. */
  currentTable: string | null;
  /** currentTable's cursor: the chunking key of its last row committed on the target, as text. */
  lastKey: string[] | null;
  /**
   * Every table being copied (several at once) and its cursor, as lastKey. Absent in a checkpoint
   * written before tables were copied concurrently: currentTable/lastKey then say it all.
   */
  tablesInFlight?: Record<string, string[] | null>;
  rowsPerTable: Record<string, number>;
  /**
   * DDL statements of the current DDL phase applied without a gap, from its first: the phase goes
   * on from here. Later ones a parallel session finished are in the target ledger and skipped.
   */
  statementsApplied: number;
  /** Milliseconds during which any lane was copying rows (counted once, not per lane), for rows/s and ETA. */
  copyMs: number;
  /** CPU milliseconds the function workers spent in the data phase (what a kill lost excepted). */
  copyCpuMs?: number;
  chunkRows: number;
  /** Tables whose count and hash were compared already (verify resumes after them). */
  verifiedTables: string[];
}

export interface CloneMetadata {
  options: CloneOptions;
  /** Sealed as it was written: a job started before a key rotation may hold the legacy form until its next slice reseals it. */
  target: StoredSecret;
  targetMasked: string;
  checkpoint: CloneCheckpoint;
  /** The target project's Storage API ({ url, serviceRoleKey }), sealed; only with includeStorage. */
  targetStorage?: StoredSecret;
  storageCursor?: StorageCursor;
  /** Per-table row totals known at preflight. */
  totals?: Record<string, number>;
  mismatches?: Array<CloneMismatch | StorageMismatch>;
  /** What the target cannot host and nothing cloned needs: left out of the clone. */
  warnings?: HostingFinding[];
  /**
   * Source and target share a major version, read once at preflight: tables whose columns allow
   * it copy in COPY binary (copy-format.ts). Absent (jobs preflighted before it): text only.
   */
  binaryCopy?: boolean;
}

export function initialCheckpoint(): CloneCheckpoint {
  return {
    phase: "preflight",
    completedPhases: [],
    completedTables: [],
    currentTable: null,
    lastKey: null,
    tablesInFlight: {},
    rowsPerTable: {},
    statementsApplied: 0,
    copyMs: 0,
    copyCpuMs: 0,
    chunkRows: 5_000,
    verifiedTables: [],
  };
}

export function nextPhase(checkpoint: CloneCheckpoint, options: CloneOptions): Phase | null {
  for (const phase of PHASES) {
    if (checkpoint.completedPhases.includes(phase)) continue;
    if (phase === "data" && !options.includeData) continue;
    if (phase === "storage" && !options.includeStorage) continue;
    return phase;
  }
  return null;
}

/** Sizes the next chunk so one takes about `targetMs`, within sane bounds. */
export function nextChunkRows(previousRows: number, previousMs: number, targetMs: number): number {
  if (previousRows <= 0 || previousMs <= 0) return previousRows || 5_000;
  const scaled = Math.round(previousRows * (targetMs / previousMs));
  // Grow at most 4x per chunk, so one surprisingly fast chunk cannot make the next one huge.
  return Math.max(1_000, Math.min(scaled, previousRows * 4, 500_000));
}

/**
 * What status shows of a clone: its own tables only (those in the job's schemas: a table of any
 * other schema in the checkpoint, say from a job recorded before schemas were allow-listed, is
 * not shown), rows and speed, the masked target. Never the sealed target or raw errors.
 */
export function describeClone(clone: CloneMetadata, isStale = false) {
  const ownTable = (name: string) => clone.options.schemas.includes(name.slice(0, name.indexOf(".")));
  const checkpoint = {
    ...clone.checkpoint,
    rowsPerTable: Object.fromEntries(
      Object.entries(clone.checkpoint.rowsPerTable).filter(([name]) => ownTable(name)),
    ),
  };
  const totals = Object.fromEntries(Object.entries(clone.totals ?? {}).filter(([name]) => ownTable(name)));
  const tables = Object.keys(totals).map((table) => ({
    table,
    rowsCopied: checkpoint.rowsPerTable[table] ?? 0,
    rowsTotal: totals[table],
    done: checkpoint.completedTables.includes(table),
  }));
  const rowsCopied = tables.reduce((sum, t) => sum + t.rowsCopied, 0);
  const rowsTotal = tables.reduce((sum, t) => sum + Math.max(t.rowsTotal, t.rowsCopied), 0);
  const rowsPerSecond = checkpoint.copyMs > 0 ? Math.round((rowsCopied * 1000) / checkpoint.copyMs) : null;
  const etaSeconds = rowsPerSecond && rowsTotal > rowsCopied
    ? Math.ceil((rowsTotal - rowsCopied) / rowsPerSecond)
    : null;
  return {
    phase: checkpoint.phase,
    completedPhases: checkpoint.completedPhases,
    completedTables: checkpoint.completedTables.filter(ownTable),
    currentTable: checkpoint.currentTable && ownTable(checkpoint.currentTable)
      ? checkpoint.currentTable
      : null,
    tablesInFlight: Object.keys(checkpoint.tablesInFlight ?? {}).filter(ownTable),
    copyCpuMs: checkpoint.copyCpuMs ?? 0,
    rows: { copied: rowsCopied, total: rowsTotal },
    tables,
    rowsPerSecond,
    etaSeconds,
    isStale,
    target: clone.targetMasked,
    storage: clone.options.includeStorage
      ? {
        objectsCopied: clone.storageCursor?.objectsCopied ?? 0,
        bytesCopied: clone.storageCursor?.bytesCopied ?? 0,
      }
      : null,
    options: clone.options,
    mismatches: (clone.mismatches ?? []).filter((m) => !("table" in m && m.table) || ownTable(m.table)),
    warnings: describeWarnings(clone.warnings ?? []),
  };
}

/** What start and status show of what the clone leaves out: the object and the target's reason. */
export function describeWarnings(skipped: HostingFinding[]) {
  return skipped.map(({ object, reason }) => ({ object, reason, skipped: true as const }));
}

/** How far a clone is, 0-99 (done is 100): data dominates the time, the other phases share the rest. */
export function cloneProgress(checkpoint: CloneCheckpoint, clone: Pick<CloneMetadata, "totals">): number {
  const phasesDone = checkpoint.completedPhases.length;
  const total = Object.values(clone.totals ?? {}).reduce((a, b) => a + b, 0);
  const copied = Object.values(checkpoint.rowsPerTable).reduce((a, b) => a + b, 0);
  const dataShare = total > 0
    ? Math.min(1, copied / total)
    : checkpoint.completedPhases.includes("data")
    ? 1
    : 0;
  return Math.min(99, Math.round(phasesDone * 5 + dataShare * 65));
}
