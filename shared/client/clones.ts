/**
 * clone-database (shared/clone/clone-actions.ts): this project's database copied into another
 * Postgres as a resumable job. Every action is keyed by `taskId` (the function also takes its
 * users' word `jobId`, and answers both); the job view is
 * describeClone's (shared/clone/clone-state.ts) under the task's own fields.
 */
import { type CallOptions, type FunctionsInvoker, invokeAction } from "./invoke-action.ts";
import type { TaskError, TaskStatus, Timestamp } from "./tasks.ts";

export type ClonePhase = "preflight" | "types" | "schema" | "data" | "post_data" | "storage" | "verify";

export interface StartCloneInput {
  /** postgresql://user:password@host:5432/database; answered back masked. */
  targetUrl: string;
  options?: {
    /** true when left out. */
    includeData?: boolean;
    /** false when left out; true needs targetStorage. */
    includeStorage?: boolean;
    /** ["public"] when left out. */
    schemas?: string[];
    /** The target project's Storage API. */
    targetStorage?: { url: string; serviceRoleKey: string };
  };
}

/** Something the target cannot host that nothing cloned needs: left out of the clone. */
export interface CloneWarning {
  /** e.g. `extension pg_cron`, `event trigger audit_ddl`. */
  object: string;
  /** The target's own answer, e.g. `permission denied to create extension "pg_cron"`. */
  reason: string;
  skipped: true;
}

/** What a 422 target_cannot_host lists in `error.details.objects`. */
export interface CloneHostingRefusal {
  object: string;
  reason: string;
  /** Cloned objects that need it. */
  neededBy: string[];
}

export interface CloneStarted {
  taskId: string;
  /** The same id under the clone's users' word. */
  jobId: string;
  target: string;
  warnings: CloneWarning[];
}

export type CloneMismatch =
  | { table?: string; sequence?: string; source: unknown; target: unknown }
  | { bucket: string; object?: string; source: unknown; target: unknown };

export interface CloneJob {
  taskId: string;
  /** The same id under the clone's users' word. */
  jobId: string;
  status: TaskStatus;
  progress: number;
  lastError: TaskError | null;
  attempts: number;
  createdAt: Timestamp;
  updatedAt: Timestamp;
  finishedAt: Timestamp | null;
  phase: ClonePhase;
  completedPhases: ClonePhase[];
  completedTables: string[];
  /** The first table in flight; `tablesInFlight` lists all the tables being copied at once. */
  currentTable: string | null;
  tablesInFlight: string[];
  /** CPU milliseconds the function workers spent copying rows so far. */
  copyCpuMs: number;
  rows: { copied: number; total: number };
  tables: Array<
    { table: string; rowsCopied: number; rowsTotal: number; done: boolean }
  >;
  rowsPerSecond: number | null;
  etaSeconds: number | null;
  isStale: boolean;
  /** The target URL, password masked. */
  target: string;
  storage: { objectsCopied: number; bytesCopied: number } | null;
  options: { includeData: boolean; includeStorage: boolean; schemas: string[] };
  mismatches: CloneMismatch[];
  /** What the job leaves out because the target cannot host it and nothing cloned needs it. */
  warnings: CloneWarning[];
}

export interface CloneJobStatus {
  job: CloneJob;
}
export interface CloneResumed {
  resumed: true;
  fromTable: string | null;
  phase: ClonePhase | null;
}
export interface CloneRestarted {
  restarted: true;
  taskId: string;
  jobId: string;
  droppedObjects: number;
}
export interface CloneCancelled {
  cancelled: true;
  job: CloneJob;
}

export function cloneMethods(supabase: FunctionsInvoker) {
  const call = <T>(action: string, input: object, options?: CallOptions) =>
    invokeAction<T>(supabase, "clone-database", action, input, options);
  return {
    /**
     * 202; 400 target_is_source, 409 target_not_empty, 422 target_cannot_host (details.objects:
     * CloneHostingRefusal[]), 503 not_configured without the encryption key.
     */
    start: (input: StartCloneInput, options?: CallOptions) => call<CloneStarted>("start", input, options),
    status: (taskId: string, options?: CallOptions) => call<CloneJobStatus>("status", { taskId }, options),
    /** 202; 409 task_active while a live worker holds the job. */
    resume: (taskId: string, options?: CallOptions) => call<CloneResumed>("resume", { taskId }, options),
    /** 202: drops what the job created on the target and starts it from zero. */
    restart: (taskId: string, options?: CallOptions) => call<CloneRestarted>("restart", { taskId }, options),
    /** 409 job_finished when it has already ended. */
    cancel: (taskId: string, options?: CallOptions) => call<CloneCancelled>("cancel", { taskId }, options),
  };
}
