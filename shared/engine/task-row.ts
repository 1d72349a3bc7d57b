/** A background_tasks row as the engine's code sees it. */
export type TaskStatus = "queued" | "running" | "waiting" | "succeeded" | "failed" | "cancelled";

export interface TaskRow {
  id: string;
  /**
   * The owner. Null (despite the type) only for kind clone.database started with the service role
   * key; code that reads it for other kinds can rely on a user id.
   */
  userId: string;
  kind: string;
  /** The Edge Function that runs its slices (TASK_ROUTES); null for kinds render workers pull. */
  functionName: string | null;
  status: TaskStatus;
  payload: Record<string, unknown>;
  metadata: Record<string, unknown>;
  progress: number;
  result: unknown;
  attempts: number;
  maxAttempts: number;
  runAfter: Date;
  leaseExpiresAt: Date | null;
  /** Kept as a string: it is a bigint in Postgres. */
  fencingToken: string;
  /** Leases lost in a row without a checkpoint (workers killed mid-work). */
  stalls: number;
  lastError: unknown;
  parentId: string | null;
  concurrencyKey: string | null;
  idempotencyKey: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

// deno-lint-ignore no-explicit-any
export function toTaskRow(row: any): TaskRow | null {
  if (!row || row.id === null) return null;
  return {
    id: row.id,
    userId: row.user_id,
    kind: row.kind,
    functionName: row.function_name,
    status: row.status,
    payload: row.payload ?? {},
    metadata: row.metadata ?? {},
    progress: Number(row.progress),
    result: row.result,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    runAfter: row.run_after,
    leaseExpiresAt: row.lease_expires_at,
    fencingToken: String(row.fencing_token),
    stalls: row.stalls ?? 0,
    lastError: row.last_error,
    parentId: row.parent_id,
    concurrencyKey: row.concurrency_key,
    idempotencyKey: row.idempotency_key,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}

export const isTerminal = (status: TaskStatus) =>
  status === "succeeded" || status === "failed" || status === "cancelled";
