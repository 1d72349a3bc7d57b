/**
 * Provider jobs inside film tasks. Every job goes through ctx.providerStep (submitted once, its
 * id recorded at once, polled without sleeping through the wall clock) and movie_step_metrics
 * (intent before the submission). A fenced checkpoint before submitting means a cancelled or
 * taken-over task never pays for another job. A job still running past its provider's deadline
 * (provider.deadlineMs, from the registry) is cancelled at the provider and fails with
 * `provider_timeout`, like any failed job: its scene fails, the film goes on. A paid job that
 * would pass the film's cap (film-budget.ts) is not submitted and fails with `budget_exceeded`,
 * the same way.
 */
import type { Sql, TransactionSql } from "../db/client.ts";
import { FencedOutError } from "../errors.ts";
import { SliceWait, SliceYield, type TaskContext } from "../engine/task-context.ts";
import type { JobProvider, JobState, ProviderIdentity } from "../providers/types.ts";
import {
  type MetricKey,
  metricProvider,
  recordFinished,
  recordIntent,
  recordSubmitted,
  setAsideGivenUpJob,
} from "./film-metrics.ts";
import { cancelAtProvider } from "./cancel-jobs.ts";
import {
  admitPaidIntent,
  admitSyncIntent,
  BUDGET_EXCEEDED,
  BudgetExceededError,
  isPaidProvider,
} from "./film-budget.ts";

/** A job given up at its deadline fails with this code. */
export const PROVIDER_TIMEOUT = "provider_timeout";

export interface JobSpec<Request> {
  sql: Sql;
  /** The engine step name; stable within the task. */
  name: string;
  provider: JobProvider<Request, { url: string; durationSeconds?: number | null }>;
  request: Request;
  metric: Omit<MetricKey, "taskId" | "stepName" | "provider" | "model">;
  cost: { units: number; unit: string };
  pollEveryMs: number;
}

export type JobOutcome = { ok: true; url: string; durationSeconds: number | null } | {
  ok: false;
  failureCode: string;
  message: string;
};

/** Runs a provider job to its end; a provider-side failure is an outcome, not an exception. */
export async function runJob<Request>(ctx: TaskContext, spec: JobSpec<Request>): Promise<JobOutcome> {
  const { provider, name } = spec;
  const key: MetricKey = { ...spec.metric, taskId: ctx.task.id, stepName: name, ...metricProvider(provider) };
  const paid = isPaidProvider(provider.provider);
  const outcome = await ctx.providerStep<JobOutcome>(name, {
    submit: async () => {
      provider.validate(spec.request);
      await ctx.checkpoint({});
      if (paid) await admitPaidIntent(spec.sql, key, spec.cost);
      else await recordIntent(spec.sql, key);
      // Recording the intent may have waited for a pooled connection: fenced again right before paying.
      await assertStillHolder(spec.sql, ctx);
      return await provider.submit(spec.request);
    },
    submitted: (id) => recordSubmitted(spec.sql, ctx.task.id, name, id),
    // Cancelled with the film, which was resumed since, or sent to a provider the owner has since
    // replaced: submitted again (to the provider named now), not polled.
    withdrawn: (id) => setAsideGivenUpJob(spec.sql, ctx.task.id, name, id, provider),
    poll: async (id) => {
      const state: JobState<{ url: string; durationSeconds?: number | null }> = await provider.poll(id);
      let result: JobOutcome;
      if (state.state === "succeeded") {
        result = { ok: true, url: state.output.url, durationSeconds: state.output.durationSeconds ?? null };
      } else if (state.state === "failed") {
        result = { ok: false, failureCode: state.failureCode, message: state.message };
      } else return null;
      await recordFinished(spec.sql, ctx.task.id, name, {
        ok: result.ok,
        costUnits: spec.cost.units,
        costUnit: spec.cost.unit,
        error: result.ok ? null : result.message,
        externalId: id,
      });
      return result;
    },
    pollEveryMs: spec.pollEveryMs,
    jobIsTask: provider.jobsAreTasks === true,
    deadline: provider.deadlineMs === undefined ? undefined : {
      afterMs: provider.deadlineMs,
      expired: async (id) => {
        const cancelError = await cancelAtProvider(provider, id, ctx.task);
        const result: JobOutcome = {
          ok: false,
          failureCode: PROVIDER_TIMEOUT,
          message: timeoutMessage(provider, id, provider.deadlineMs!, cancelError),
        };
        // No cost units: whether a cancelled job is billed is the provider's to say.
        await recordFinished(spec.sql, ctx.task.id, name, {
          ok: false,
          error: result.message,
          externalId: id,
        });
        return result;
      },
    },
  }).catch(async (error) => {
    if (!(error instanceof BudgetExceededError)) throw error;
    // Kept in the metrics (no planned units: nothing was paid), so status names the refused step.
    await recordIntent(spec.sql, key);
    await recordFinished(spec.sql, ctx.task.id, name, { ok: false, error: error.message });
    return { ok: false, failureCode: BUDGET_EXCEEDED, message: error.message } satisfies JobOutcome;
  });
  return outcome;
}

/**
 * A failed outcome's message without its code in front: a refusal's (BudgetExceededError) starts
 * with it, and whoever quotes the code beside the message would say it twice.
 */
export function failureDetail(outcome: { failureCode: string; message: string }): string {
  const { failureCode, message } = outcome;
  return message.startsWith(`${failureCode}:`) ? message.slice(failureCode.length + 1).trimStart() : message;
}

/** A failed outcome as `code: message`, the code once. */
export function failureText(outcome: { failureCode: string; message: string }): string {
  return `${outcome.failureCode}: ${failureDetail(outcome)}`;
}

/**
 * A synchronous paid call (a line voiced) made as a task's effect, metered as runJob meters a job:
 * its intent admitted against the film's cap and recorded before the call (fenced: a cancelled or
 * taken-over task pays for nothing), its end recorded with its cost once it returns, so it counts
 * in the film's spend and its owner's daily use. A call the cap refuses is not made: a failed
 * outcome, `budget_exceeded`. A kill mid-call makes the call again on the next slice: a
 * synchronous call has no id to record before it ends.
 */
export async function runSyncCall<T>(
  ctx: TaskContext,
  spec: {
    sql: Sql;
    name: string;
    provider: ProviderIdentity;
    metric: Omit<MetricKey, "taskId" | "stepName" | "provider" | "model">;
    cost: { units: number; unit: string };
  },
  call: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; failureCode: string; message: string }> {
  const key: MetricKey = {
    ...spec.metric,
    taskId: ctx.task.id,
    stepName: spec.name,
    ...metricProvider(spec.provider),
  };
  let value: T;
  try {
    value = await ctx.effect(spec.name, async () => {
      await ctx.checkpoint({});
      await admitSyncIntent(spec.sql, key);
      await assertStillHolder(spec.sql, ctx);
      return await call();
    });
  } catch (error) {
    if (!(error instanceof BudgetExceededError)) throw error;
    await recordIntent(spec.sql, key);
    await recordFinished(spec.sql, ctx.task.id, spec.name, { ok: false, error: error.message });
    return { ok: false, failureCode: BUDGET_EXCEEDED, message: error.message };
  }
  await ctx.step(`${spec.name}:metered`, (tx) =>
    recordFinished(tx, ctx.task.id, spec.name, {
      ok: true,
      costUnits: spec.cost.units,
      costUnit: spec.cost.unit,
    }).then(() => null));
  return { ok: true, value };
}

/** Names the provider, the model and the deadline, and whether the cancel reached the provider. */
export function timeoutMessage(
  provider: { provider: string; model: string },
  jobId: string,
  deadlineMs: number,
  cancelError: string | null,
): string {
  const cancelled = cancelError === null
    ? "cancelled at the provider"
    : `cancelling it at the provider failed: ${cancelError}`;
  return `${provider.provider} ${provider.model} job ${jobId} was still running ${
    Math.round(deadlineMs / 1000)
  } s after its submission, its deadline: ${cancelled}`;
}

/**
 * Runs steps side by side (all voice lines, all portraits). Waits for every one to settle before
 * rethrowing, so no step keeps writing after the slice ended; a real failure wins over a yield,
 * and a yield (something to poll) over parking: steps that all wait on tasks park on all of them.
 */
export async function allSteps<T>(runs: (() => Promise<T>)[]): Promise<T[]> {
  const settled = await Promise.allSettled(runs.map((run) => run()));
  const failures = settled.filter((s): s is PromiseRejectedResult => s.status === "rejected").map((s) =>
    s.reason
  );
  if (failures.length) {
    const waits = failures.filter((f): f is SliceWait => f instanceof SliceWait);
    if (waits.length === failures.length) {
      throw new SliceWait(waits.flatMap((w) => w.taskIds), waits.at(-1)!.metadata);
    }
    throw failures.find((f) => !(f instanceof SliceYield)) ?? failures.find((f) =>
      !(f instanceof SliceWait)
    ) ?? failures[0];
  }
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/**
 * Throws FencedOutError unless this slice still holds its task (not cancelled, not taken over).
 * Checked right before a paid call, so a cancel that committed meanwhile stops it.
 */
export async function assertStillHolder(db: Sql | TransactionSql, ctx: TaskContext): Promise<void> {
  const [row] = await db`
    select 1 from public.background_tasks
     where id = ${ctx.task.id} and fencing_token = ${ctx.task.fencingToken}::bigint and status = 'running'`;
  if (!row) throw new FencedOutError(ctx.task.id);
}
