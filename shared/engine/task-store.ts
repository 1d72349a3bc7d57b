import type { Sql, SqlParameter, TransactionSql } from "../db/client.ts";
import { SqlErrorCode } from "../db/sql-errors.ts";
import { ConflictError, FencedOutError } from "../errors.ts";
import { quotaErrorFrom } from "../usage/usage-admission.ts";
import { type TaskRow, toTaskRow } from "./task-row.ts";
import { functionFor, type RoutableKind } from "./task-routes.ts";

type Json = Record<string, unknown> | unknown[] | string | number | boolean | null;
type Db = Sql | TransactionSql;

/** Postgres's type oid for jsonb: what `sql.json()` tags its value with. */
const JSONB_OID = 3802;

export interface EnqueueOptions {
  /** The owner; null only for a clone job started with the service role key (see the migration). */
  userId: string | null;
  /** Also names the Edge Function that runs it (TASK_ROUTES), or none: pulled by worker processes. */
  kind: RoutableKind;
  payload?: Record<string, unknown>;
  idempotencyKey?: string | null;
  maxAttempts?: number;
  concurrencyKey?: string | null;
  parentId?: string | null;
  runAfter?: Date;
  dispatch?: boolean;
  metadata?: Record<string, unknown>;
  backoffBaseMs?: number;
}

export interface ChildSpec {
  /** Stable within the parent, so a re-run of the spawning step finds the same child. */
  key: string;
  kind: RoutableKind;
  payload?: Record<string, unknown>;
  concurrencyKey?: string;
  maxAttempts?: number;
}

export interface StepRecord {
  name: string;
  status: "submitted" | "completed";
  externalId: string | null;
  result: unknown;
  /**
   * When the submission was recorded, on this process's clock: now minus the row's age by the
   * database's clock (so a worker whose clock differs from the database's still measures the age
   * right). Absent for steps that are not submissions.
   */
  submittedAtMs?: number;
}

/** Thin typed wrappers over the engine's SQL functions (migrations/*_engine.sql). */
export function createTaskStore(sql: Sql) {
  /**
   * A jsonb parameter, as `sql.json()` makes it. Payloads, metadata and results are typed as plain
   * records and `unknown` throughout the engine (a handler's result is whatever it returns), which
   * `sql.json()`'s JSONValue does not take; `sql.typed()` takes any value with the same oid.
   */
  const json = (value: unknown) => sql.typed(value ?? null, JSONB_OID);
  /**
   * One engine call in its own transaction, run again if Postgres broke a deadlock by aborting it
   * (nothing of it committed). Ending a parent locks it, then its open children; a child ending at
   * that moment holds its own row and wakes its parent: one of the two is aborted, and its retry
   * waits for the other (and then sees the outcome: e.g. a completion fenced out by the cancel).
   */
  const once = (strings: TemplateStringsArray, ...values: SqlParameter[]) =>
    retryDeadlock(() => sql(strings, ...values));
  return {
    /**
     * Creates the task once per idempotency key. Without `runAfter` it is due at the database's
     * now(): a client clock (or a JS Date taken inside a longer transaction) would be later than
     * the transaction's now(), and the doorbell would wait for the sweeper.
     */
    async enqueue(o: EnqueueOptions, db: Db = sql): Promise<TaskRow> {
      const [row] = await db`
        select * from engine.enqueue_task(
          p_user_id => ${o.userId}, p_kind => ${o.kind}, p_function => ${functionFor(o.kind)},
          p_payload => ${json(o.payload ?? {})}, p_idempotency_key => ${o.idempotencyKey ?? null},
          p_max_attempts => ${o.maxAttempts ?? 5}, p_concurrency_key => ${o.concurrencyKey ?? null},
          p_parent_id => ${o.parentId ?? null}, p_run_after => coalesce(${
        o.runAfter ?? null
      }::timestamptz, now()),
          p_dispatch => ${o.dispatch ?? true}, p_metadata => ${json(o.metadata ?? {})},
          p_backoff_base_ms => ${o.backoffBaseMs ?? 2000})`;
      return toTaskRow(row)!;
    },

    /**
     * enqueue() for metadata that needs the task's id (secrets sealed to their row): the row is
     * created undispatched, given `metadataFor(id)`, then dispatched, in one transaction, so no
     * worker or sweeper ever sees it without that metadata.
     */
    async enqueueWithMetadataFor(
      o: Omit<EnqueueOptions, "metadata" | "idempotencyKey">,
      metadataFor: (taskId: string) => Promise<Record<string, unknown>>,
    ): Promise<TaskRow> {
      return await sql.begin(async (tx) => {
        const [created] = await tx`
          select id from engine.enqueue_task(
            p_user_id => ${o.userId}, p_kind => ${o.kind}, p_function => ${functionFor(o.kind)},
            p_payload => ${json(o.payload ?? {})}, p_max_attempts => ${o.maxAttempts ?? 5},
            p_concurrency_key => ${o.concurrencyKey ?? null}, p_parent_id => ${o.parentId ?? null},
            p_run_after => coalesce(${o.runAfter ?? null}::timestamptz, now()), p_dispatch => false,
            p_backoff_base_ms => ${o.backoffBaseMs ?? 2000})`;
        const [row] = await tx`
          update public.background_tasks set metadata = ${json(await metadataFor(created.id))}
           where id = ${created.id} returning *`;
        if (o.dispatch ?? true) {
          await tx`select engine.dispatch_task(id) from public.background_tasks where id = ${created.id} and run_after <= now()`;
        }
        return toTaskRow(row)!;
      }) as TaskRow;
    },

    async get(taskId: string): Promise<TaskRow | null> {
      const [row] = await sql`select * from public.background_tasks where id = ${taskId}`;
      return toTaskRow(row);
    },

    /** Owner and kind of a task removed by retention (engine.expired_tasks), or null. */
    async expired(
      taskId: string,
    ): Promise<{ userId: string | null; kind: string; functionName: string | null } | null> {
      const [row] = await sql<{ user_id: string | null; kind: string; function_name: string | null }[]>`
        select user_id, kind, function_name from engine.expired_tasks where id = ${taskId}`;
      return row ? { userId: row.user_id, kind: row.kind, functionName: row.function_name } : null;
    },

    async children(taskId: string): Promise<TaskRow[]> {
      const rows = await sql`
        select * from public.background_tasks where parent_id = ${taskId} order by created_at, id`;
      return rows.map((row) => toTaskRow(row)!);
    },

    async claim(
      taskId: string,
      workerId: string,
      leaseSeconds: number,
      lockHeld = false,
    ): Promise<TaskRow | null> {
      const [row] = await once`
        select * from engine.claim_task(${taskId}, ${workerId}, ${leaseSeconds}::integer, ${lockHeld}::boolean)`;
      return toTaskRow(row);
    },

    /**
     * Up to `count` due tasks of `kinds` for a worker's slots, each claimed as
     * engine.claim_next_task claims one, in one transaction; fewer when fewer are due.
     */
    async claimMany(
      kinds: string[],
      workerId: string,
      leaseSeconds: number,
      count: number,
    ): Promise<TaskRow[]> {
      const rows = await once`
        select * from engine.claim_tasks(${kinds}, ${workerId}, ${leaseSeconds}::integer, ${count}::integer)`;
      return rows.map((row) => toTaskRow(row)!);
    },

    /** Saves progress and renews the lease; throws FencedOutError if the token is stale. */
    async checkpoint(task: TaskRow, metadata: Json, progress: number | null, leaseSeconds: number) {
      const [{ ok }] = await once`
        select engine.checkpoint_task(${task.id}, ${task.fencingToken}::bigint, ${json(metadata)},
          ${progress}, ${leaseSeconds}) as ok`;
      if (!ok) throw new FencedOutError(task.id);
    },

    /** A heartbeat: extends the lease without counting as progress; FencedOutError if the token is stale. */
    async renewLease(task: TaskRow, leaseSeconds: number) {
      const [{ ok }] =
        await once`select engine.renew_lease(${task.id}, ${task.fencingToken}::bigint, ${leaseSeconds}) as ok`;
      if (!ok) throw new FencedOutError(task.id);
    },

    async handOff(task: TaskRow, metadata: Json, progress: number | null) {
      const [{ ok }] = await once`
        select engine.hand_off_task(${task.id}, ${task.fencingToken}::bigint, ${json(metadata)},
          ${progress}) as ok`;
      if (!ok) throw new FencedOutError(task.id);
    },

    /** Records why one of the task's slices ended (engine.slice_ends; see slice-end.ts). */
    async recordSliceEnd(task: TaskRow, reason: string, cpuMs: number | null, wallMs: number) {
      await sql`
        select engine.record_slice_end(${task.id}, ${task.functionName ?? ""}, ${task.kind}, ${reason},
          ${cpuMs}::integer, ${wallMs}::integer)`;
    },

    /** Gives the task back, to be claimed again no sooner than `delayMs` from now. */
    async defer(task: TaskRow, delayMs: number) {
      const [{ ok }] = await once`
        select engine.defer_task(${task.id}, ${task.fencingToken}::bigint, ${Math.ceil(delayMs)}) as ok`;
      if (!ok) throw new FencedOutError(task.id);
    },

    async complete(task: TaskRow, result: unknown, metadata: Json = {}) {
      const [{ ok }] = await once`
        select engine.complete_task(${task.id}, ${task.fencingToken}::bigint, ${json(result)},
          ${json(metadata)}) as ok`;
      if (!ok) throw new FencedOutError(task.id);
    },

    /**
     * Completes several tasks as complete() completes one, in one transaction: per task, true when
     * it ended, false when its token was stale (that one changed nothing).
     */
    async completeMany(ends: { task: TaskRow; result: unknown }[]): Promise<boolean[]> {
      const [{ ended }] = await once`
        select engine.complete_tasks(${ends.map((e) => e.task.id)}::uuid[],
          ${ends.map((e) => e.task.fencingToken)}::bigint[],
          ${json(ends.map((e) => e.result ?? null))}) as ended`;
      return ended;
    },

    /** Returns 'queued' (will retry) or 'failed' (for good). */
    async fail(
      task: TaskRow,
      error: { code: string; message: string } & Record<string, unknown>,
      retryable: boolean,
      metadata: Json = {},
    ) {
      const [{ outcome }] = await once`
        select engine.fail_task(${task.id}, ${task.fencingToken}::bigint, ${json(error)}, ${retryable},
          ${json(metadata)}) as outcome`;
      if (outcome === null) throw new FencedOutError(task.id);
      return outcome as "queued" | "failed";
    },

    async awaitChildren(task: TaskRow, children: ChildSpec[], metadata: Json = {}) {
      const specs = children.map((c) => ({
        key: c.key,
        kind: c.kind,
        function_name: functionFor(c.kind),
        payload: c.payload ?? {},
        concurrency_key: c.concurrencyKey ?? null,
        max_attempts: c.maxAttempts ?? 5,
      }));
      await fenced(
        task,
        () =>
          once`select engine.await_children(${task.id}, ${task.fencingToken}::bigint, ${json(specs)},
          ${json(metadata)})`,
      );
    },

    /** Parks the task until one of `taskIds` ends; false (still held) when all have ended. */
    async awaitTasks(task: TaskRow, taskIds: string[], metadata: Json = {}): Promise<boolean> {
      const [{ parked }] = await fenced(
        task,
        () =>
          once`select engine.await_tasks(${task.id}, ${task.fencingToken}::bigint, ${taskIds}::uuid[],
          ${json(metadata)}) as parked`,
      );
      return parked as boolean;
    },

    async steps(taskId: string): Promise<Map<string, StepRecord>> {
      const rows = await sql`
        select name, status, external_id, result,
               (extract(epoch from (now() - created_at)) * 1000)::float8 as age_ms
          from public.background_task_steps
         where task_id = ${taskId}`;
      const loadedAt = Date.now();
      return new Map(rows.map((r) => [r.name, {
        name: r.name,
        status: r.status,
        externalId: r.external_id,
        result: r.result,
        ...(r.status === "submitted" ? { submittedAtMs: loadedAt - Number(r.age_ms) } : {}),
      }]));
    },

    /** Records a step's result inside the caller's transaction, so effects and record commit together. */
    async completeStep(tx: Db, task: TaskRow, name: string, result: unknown) {
      await fenced(
        task,
        () =>
          tx`select engine.complete_step(${task.id}, ${task.fencingToken}::bigint, ${name}, ${json(result)})`,
      );
    },

    async recordSubmission(task: TaskRow, name: string, externalId: string) {
      await fenced(
        task,
        () =>
          once`select engine.record_step_submission(${task.id}, ${task.fencingToken}::bigint, ${name},
          ${externalId})`,
      );
    },

    /** Forgets the step's recorded job `externalId` (engine.withdraw_step_submission): submitted again next. */
    async withdrawSubmission(task: TaskRow, name: string, externalId: string) {
      await fenced(
        task,
        () =>
          once`select engine.withdraw_step_submission(${task.id}, ${task.fencingToken}::bigint, ${name},
          ${externalId})`,
      );
    },

    /** The engine's own cancel (a film's, a rejected run's, a restart's); false if it had already ended. */
    async cancel(taskId: string, reason: string): Promise<boolean> {
      const [{ ok }] = await once`select engine.cancel_task(${taskId}, ${reason}) as ok`;
      return ok;
    },

    /**
     * The owner's cancel (engine.cancel_by_owner): false if it had already ended; 409
     * task_not_cancellable for housekeeping or part of other work, which ends with what it belongs to.
     */
    async cancelByOwner(taskId: string): Promise<boolean> {
      try {
        const [{ ok }] = await once`select engine.cancel_by_owner(${taskId}) as ok`;
        return ok;
      } catch (error) {
        if (pgErrorCode(error) === SqlErrorCode.TaskNotCancellable) {
          throw new ConflictError("task_not_cancellable", (error as Error).message);
        }
        throw error;
      }
    },

    /** Starts a task again from zero with fresh metadata; its running worker is fenced out. */
    async restart(taskId: string, metadata: Record<string, unknown>): Promise<TaskRow | null> {
      const [row] = await once`select * from engine.restart_task(${taskId}, ${json(metadata)})`;
      return toTaskRow(row);
    },

    /**
     * The owner's resume (engine.resume_by_owner): only what a user may restart, a bounded number of
     * times, admitted against the usage limits. Null when the task does not exist; 409 while it is
     * active, when it has nothing to resume (succeeded, waiting, queued, between slices, its asset
     * run ended), is part of other work, belongs to a cancelled film, is a regeneration of a film in
     * production or of work another open task does, or was resumed too often; 429
     * over a usage limit. Nothing is counted or charged when it is refused.
     */
    async resume(taskId: string): Promise<TaskRow | null> {
      try {
        const [row] = await once`select * from engine.resume_by_owner(${taskId})`;
        return toTaskRow(row);
      } catch (error) {
        const code = pgErrorCode(error);
        const message = (error as Error).message;
        if (code === SqlErrorCode.TaskActive) {
          throw new ConflictError("task_active", "Job still active, wait a moment");
        }
        if (code === SqlErrorCode.ResumeLimitReached) {
          throw new ConflictError("resume_limit_reached", message);
        }
        if (code === SqlErrorCode.FilmCancelled) throw new ConflictError("film_cancelled", message);
        if (code === SqlErrorCode.MovieInProduction) throw new ConflictError("movie_in_production", message);
        if (code === SqlErrorCode.RegenerationInProgress) {
          throw new ConflictError("regeneration_in_progress", message);
        }
        if (code === SqlErrorCode.FilmBeingEdited) throw new ConflictError("film_being_edited", message);
        if (code === SqlErrorCode.TaskNothingToResume || code === SqlErrorCode.TaskNotResumable) {
          throw new ConflictError("task_not_resumable", message);
        }
        throw quotaErrorFrom(error);
      }
    },
  };
}

export type TaskStore = ReturnType<typeof createTaskStore>;

async function fenced<T>(task: TaskRow, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if ((error as { code?: string }).code === SqlErrorCode.FencedOut) throw new FencedOutError(task.id);
    throw error;
  }
}

const DEADLOCK = "40P01";

/** Runs `run` (one statement or one whole transaction) again when Postgres aborted it to break a deadlock. */
export async function retryDeadlock<T>(run: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (pgErrorCode(error) !== DEADLOCK || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}

export function pgErrorCode(error: unknown): string | undefined {
  return (error as { code?: string })?.code;
}
