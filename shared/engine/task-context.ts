import type { Sql, TransactionSql } from "../db/client.ts";
import type { TaskRow } from "./task-row.ts";
import type { ChildSpec, StepRecord, TaskStore } from "./task-store.ts";
import type { SliceBudget } from "./slice-budget.ts";

/** What a task handler returns at the end of a slice. */
export type SliceOutcome =
  | { type: "done"; result?: unknown; metadata?: Record<string, unknown> }
  | { type: "continue"; metadata?: Record<string, unknown>; progress?: number }
  | { type: "await_children"; children: ChildSpec[]; metadata?: Record<string, unknown> };

/**
 * Thrown by providerStep when the budget ran out while a provider job was still running, or when
 * this worker is too close to its wall-clock kill to pay for a job: then `notBeforeMs` asks that
 * the task be run again only after this worker is gone.
 */
export class SliceYield extends Error {
  constructor(readonly metadata: Record<string, unknown> = {}, readonly notBeforeMs: number | null = null) {
    super("slice budget spent");
  }
}

/**
 * Thrown by providerStep when its job is another background task still open: the task parks
 * (engine.await_tasks) instead of polling, and the first of `taskIds` to end wakes it. A waiting
 * task holds no worker, so kills meanwhile cannot count against it.
 */
export class SliceWait extends SliceYield {
  constructor(readonly taskIds: string[], metadata: Record<string, unknown> = {}) {
    super(metadata);
  }
}

/**
 * A paid submission is only started with at least this long before the worker's wall-clock kill,
 * so the platform's own kill never lands between the provider accepting a job and the engine
 * recording its id. (Slices already end ≥ 5 s before the kill; this covers a provider slow to
 * answer a submission.) Kills at random moments — crashes, OOM — can still land there: see
 * docs/guarantees.md.
 */
export const PAID_SUBMIT_MARGIN_MS = 10_000;

export interface ProviderStepSpec<T> {
  /** Submits the job and returns the provider's task id. Only called if none is recorded. Keep
   * it to the provider call: anything after the provider's answer widens the window in which a
   * kill loses a paid job's id. */
  submit(): Promise<string>;
  /** Bookkeeping once the id is recorded (e.g. metrics); not run again on resume. */
  submitted?(externalId: string): Promise<void>;
  /**
   * Asked on resume, before polling a recorded job: true when that job was given up with its task
   * (cancelled at its provider by film.cancel_jobs) and the step should pay for a new one. The
   * hook moves its own records of the old job aside; the step's record of it is then withdrawn.
   */
  withdrawn?(externalId: string): Promise<boolean>;
  /** Polls the provider; returns the final result when done, null while still running. */
  poll(externalId: string): Promise<T | null>;
  pollEveryMs?: number;
  /** The job id is a background task's id (a render job, a shared image task): wait for it
   * parked (SliceWait) rather than polling it on this worker. */
  jobIsTask?: boolean;
  /**
   * How long the job may run, measured from its recorded submission (a stored time: it holds
   * across slices, kills and workers). Checked after each poll that found the job still running;
   * past it, `expired` (e.g. cancel at the provider) gives the step's final result instead. A job
   * that is a background task is checked only when its task wakes this one.
   */
  deadline?: { afterMs: number; expired(externalId: string): Promise<T> };
}

export interface TaskContext {
  readonly task: TaskRow;
  readonly payload: Record<string, unknown>;
  readonly metadata: Record<string, unknown>;
  readonly budget: SliceBudget;
  /** Runs `run` once per task: a recorded result is returned without running it again. The
   * effects `run` makes through `tx` commit together with the record, or not at all. */
  step<T>(name: string, run: (tx: TransactionSql) => Promise<T>): Promise<T>;
  /** A step whose work is outside this database (an upload, a provider call, another server):
   * `run` goes first with no transaction open, then its result is recorded as step() records
   * one. A kill in between runs it again, as it would inside step(), whose rollback cannot undo
   * such work either; but no pooled connection sits idle in a transaction while it runs. */
  effect<T>(name: string, run: () => Promise<T>): Promise<T>;
  /** A paid provider call as a two-phase step: submit once, record the provider's id at once,
   * then poll — on resume the recorded id is polled instead of submitting again. */
  providerStep<T>(name: string, spec: ProviderStepSpec<T>): Promise<T>;
  /** Saves progress and renews the lease; throws FencedOutError when another worker took over. */
  checkpoint(metadata: Record<string, unknown>, progress?: number): Promise<void>;
  children(): Promise<TaskRow[]>;
  shouldYield(): boolean;
}

export interface TaskContextDeps {
  sql: Sql;
  store: TaskStore;
  task: TaskRow;
  steps: Map<string, StepRecord>;
  budget: SliceBudget;
  leaseSeconds: number;
  sleep?: (ms: number) => Promise<void>;
  /** The clock deadlines are measured with (the one store.steps() used); default Date.now. */
  now?: () => number;
}

export function createTaskContext(deps: TaskContextDeps): TaskContext {
  const { sql, store, task, steps, budget } = deps;
  const sleep = deps.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const now = deps.now ?? Date.now;
  let metadata = { ...task.metadata };

  async function step<T>(name: string, run: (tx: TransactionSql) => Promise<T>): Promise<T> {
    const recorded = steps.get(name);
    if (recorded?.status === "completed") return recorded.result as T;
    const result = await sql.begin(async (tx) => {
      // The owner's row before any of theirs a step writes, in an account deletion's order
      // (engine.lock_owner); a task without an owner locks nothing.
      if (task.userId) await tx`select engine.lock_owner(${task.userId})`;
      const value = await run(tx);
      await store.completeStep(tx, task, name, value ?? null);
      return value;
    });
    steps.set(name, { name, status: "completed", externalId: null, result: result ?? null });
    return result as T;
  }

  async function effect<T>(name: string, run: () => Promise<T>): Promise<T> {
    const recorded = steps.get(name);
    if (recorded?.status === "completed") return recorded.result as T;
    const value = await run();
    return await step(name, () => Promise.resolve(value));
  }

  async function providerStep<T>(name: string, spec: ProviderStepSpec<T>): Promise<T> {
    const recorded = steps.get(name);
    if (recorded?.status === "completed") return recorded.result as T;
    let externalId = recorded?.externalId ?? null;
    let submittedAtMs = recorded?.submittedAtMs ?? now();
    if (externalId && await spec.withdrawn?.(externalId)) {
      await store.withdrawSubmission(task, name, externalId);
      steps.delete(name);
      externalId = null;
    }
    if (!externalId) {
      const untilKill = budget.untilKillMs();
      if (untilKill < PAID_SUBMIT_MARGIN_MS) throw new SliceYield(metadata, untilKill + 500);
      externalId = await spec.submit();
      // The provider has accepted (and billed) the job: its id is recorded before anything else.
      await store.recordSubmission(task, name, externalId);
      submittedAtMs = now();
      steps.set(name, { name, status: "submitted", externalId, result: null, submittedAtMs });
      await spec.submitted?.(externalId);
    }
    for (;;) {
      const result = await spec.poll(externalId);
      if (result !== null) {
        return step(name, () => Promise.resolve(result));
      }
      // Only a poll that found the job running gives it up: one that finished just in time wins.
      if (spec.deadline && now() - submittedAtMs >= spec.deadline.afterMs) {
        const expired = await spec.deadline.expired(externalId);
        return step(name, () => Promise.resolve(expired));
      }
      if (spec.jobIsTask) throw new SliceWait([externalId], metadata);
      const wait = spec.pollEveryMs ?? 5_000;
      if (budget.remainingMs() < wait) throw new SliceYield(metadata);
      await sleep(wait);
    }
  }

  return {
    task,
    payload: task.payload,
    get metadata() {
      return metadata;
    },
    budget,
    step,
    effect,
    providerStep,
    async checkpoint(patch, progress) {
      metadata = { ...metadata, ...patch };
      await store.checkpoint(task, patch, progress ?? null, deps.leaseSeconds);
    },
    children: () => store.children(task.id),
    shouldYield: () => budget.exhausted(),
  };
}
