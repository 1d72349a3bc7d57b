/**
 * clone-database's actions: start, status, resume, restart, cancel — keyed by `taskId` (alias
 * `jobId`, the users' word), all for operators only (403 operator_only for anyone else, before
 * anything is read, created or connected to). Any operator may act on any clone job: operators are the project's admin team.
 */
import { z } from "zod";
import type { Caller } from "../auth/caller.ts";
import {
  AppError,
  BadRequestError,
  ConflictError,
  NotFoundError,
  OperatorOnlyError,
  TaskExpiredError,
} from "../errors.ts";
import { cloneTargetBinding, cloneTargetStorageBinding } from "../crypto/secret-bindings.ts";
import type { SecretBox } from "../crypto/secret-box.ts";
import type { TaskRow } from "../engine/task-row.ts";
import type { TaskStore } from "../engine/task-store.ts";
import { type ActionSpec, defineAction } from "../http/function-app.ts";
import { parseInput, uuidField } from "../http/read-body.ts";
import { describeTask } from "../http/task-actions.ts";
import { type CloneMetadata, describeClone, describeWarnings, initialCheckpoint } from "./clone-state.ts";
import { databaseIdentity, openCloneConnection } from "./clone-connections.ts";
import { checkCloneTarget, type CloneTargetRules, connectCloneTarget } from "./clone-target.ts";
import { describeCloneError } from "./clone-errors.ts";
import { assertClonableSchemas } from "./schema-allow-list.ts";
import { probeTargetStorage } from "./storage-api-client.ts";
import { checkHttpTarget } from "../net/http-target.ts";
import { HostUnresolvableError } from "../net/outbound-guard.ts";
import type { Sql } from "../db/client.ts";
import { CLONE_KIND } from "./clone-task.ts";
import { findConflicts } from "./catalog-conflicts.ts";
import { readClonePlan } from "./schema-plan.ts";
import { parseTargetUrl, type TargetUrl } from "./target-url.ts";
import { TargetUnreachableError } from "./target-probe.ts";
import { connectFailureReason, rawDetail } from "../engine/task-error.ts";
import { checkTargetHosting, type HostingFinding, TargetCannotHostError } from "./target-hosting.ts";
import { dropWhatJobCreated, dropWhatPlanCreated } from "./target-ledger.ts";
import type { ClonePlan } from "./schema-plan.ts";

const schemaName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/, "a schema name (letters, digits, _)");

const startInput = z.object({
  targetUrl: z.string({ error: "targetUrl is required: postgresql://user:password@host:5432/database" }),
  options: z.object({
    includeData: z.boolean().default(true),
    includeStorage: z.boolean().default(false),
    schemas: z.array(schemaName).min(1).max(50).default(["public"]),
    /** The target project's Storage API, needed with includeStorage. */
    targetStorage: z.object({
      url: z.string().url().regex(/^https?:\/\//, "an http(s) URL"),
      serviceRoleKey: z.string().min(20),
    }).strict().optional(),
  }).strict().default({ includeData: true, includeStorage: false, schemas: ["public"] }),
}).strict();

const jobUuid = (field: string) => uuidField(field, "a clone job's UUID").optional();
/**
 * The job's task id: `taskId`, as every task-running function names it, or `jobId`, the clone's
 * users' word, kept as an alias (both are answered too). Both at once must name the same job.
 */
const byTaskId = z.object({ taskId: jobUuid("taskId"), jobId: jobUuid("jobId") }).strict().transform(
  (body, ctx) => {
    const taskId = body.taskId ?? body.jobId;
    if (taskId === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["taskId"],
        message: "taskId (or its alias jobId) is required: the clone job's UUID",
      });
      return z.NEVER;
    }
    if (body.jobId !== undefined && body.jobId !== taskId) {
      ctx.addIssue({
        code: "custom",
        path: ["jobId"],
        message: "taskId and jobId name different jobs: send one of them",
      });
      return z.NEVER;
    }
    return { taskId };
  },
);

export interface CloneActionDeps {
  store: TaskStore;
  secrets: SecretBox | null;
  sourceUrl: string;
  /** This project's database (the function's pool): schema checks before any target is touched. */
  sql: Sql;
  /** Where targets may be: the outbound guard and the allowed ports (operator settings). */
  targets: CloneTargetRules;
}

export function cloneActions(deps: CloneActionDeps): Record<string, ActionSpec> {
  const { store } = deps;

  async function cloneJob(taskId: string): Promise<TaskRow> {
    const task = await store.get(taskId);
    if (!task) {
      // Clone actions are operators' only: a clone job removed by retention is theirs to hear about.
      if ((await store.expired(taskId))?.kind === CLONE_KIND) throw new TaskExpiredError("Clone job", taskId);
      throw new NotFoundError("Clone job", taskId);
    }
    if (task.kind !== CLONE_KIND) throw new NotFoundError("Clone job", taskId);
    return task;
  }

  function secretBox(): SecretBox {
    if (!deps.secrets) {
      throw new AppError(
        "not_configured",
        503,
        "clone-database needs the REELFORGE_ENCRYPTION_KEY function secret",
      );
    }
    return deps.secrets;
  }

  const view = (task: TaskRow) => {
    const summary = describeTask(task);
    const clone = task.metadata.clone as CloneMetadata | undefined;
    return {
      taskId: task.id,
      jobId: task.id,
      status: task.status,
      progress: task.progress,
      lastError: describeCloneError(task.lastError, task.id),
      attempts: task.attempts,
      createdAt: task.createdAt,
      updatedAt: task.updatedAt,
      finishedAt: task.finishedAt,
      ...(clone ? describeClone(clone, summary.isStale) : { isStale: summary.isStale }),
    };
  };

  return {
    start: operatorAction({
      input: startInput,
      async run({ targetUrl, options }, caller) {
        const target = parseTargetUrl(targetUrl);
        if (options.includeStorage && !options.targetStorage) {
          throw new BadRequestError(
            "target_storage_required",
            "includeStorage needs options.targetStorage: { url: the target project's API URL, serviceRoleKey }",
          );
        }
        await assertClonableSchemas(deps.sql, options.schemas);
        // Every address check before the first connection to any of them.
        await withResolveErrors(() => checkCloneTarget(target, deps.targets));
        const storage = options.includeStorage ? options.targetStorage : undefined;
        if (storage) {
          await withResolveErrors(() =>
            checkHttpTarget(storage.url, deps.targets.guard, "targetStorage.url")
          );
        }
        // The one-request Storage probe first: the database checks read the whole plan.
        if (storage) await probeTargetStorage(storage, deps.targets.guard);
        const warnings = await refuseBadTarget(target, options.schemas);
        const { targetStorage, ...shownOptions } = options;
        const box = secretBox();
        // The secrets are sealed to the job's row, so its id must exist first.
        const metadataFor = async (taskId: string): Promise<{ clone: CloneMetadata }> => ({
          clone: {
            options: shownOptions,
            target: await box.seal(target.url, cloneTargetBinding(taskId)),
            targetMasked: target.masked,
            targetStorage: options.includeStorage && targetStorage
              ? await box.seal(JSON.stringify(targetStorage), cloneTargetStorageBinding(taskId))
              : undefined,
            checkpoint: initialCheckpoint(),
            warnings,
          },
        });
        // A service-role call has no user behind it: the job has no owner (any operator manages it).
        const owner = caller.isServiceRole ? null : caller.userId;
        const task = await store.enqueueWithMetadataFor(
          { userId: owner, kind: CLONE_KIND, maxAttempts: 8 },
          metadataFor,
        );
        return {
          status: 202,
          body: {
            taskId: task.id,
            jobId: task.id,
            target: target.masked,
            warnings: describeWarnings(warnings),
          },
        };
      },
    }),

    status: operatorAction({
      input: byTaskId,
      async run({ taskId }) {
        return { body: { job: view(await cloneJob(taskId)) } };
      },
    }),

    resume: operatorAction({
      input: byTaskId,
      async run({ taskId }) {
        const task = await cloneJob(taskId);
        await store.resume(taskId);
        const checkpoint = (task.metadata.clone as CloneMetadata | undefined)?.checkpoint;
        return {
          status: 202,
          body: {
            resumed: true,
            fromTable: checkpoint?.currentTable ?? null,
            phase: checkpoint?.phase ?? null,
          },
        };
      },
    }),

    restart: operatorAction({
      input: byTaskId,
      async run({ taskId }) {
        const task = await cloneJob(taskId);
        const clone = task.metadata.clone as CloneMetadata;
        const targetUrl = await secretBox().open(clone.target, cloneTargetBinding(taskId));
        // Checked, and a PostgreSQL server heard from there (422 target_unreachable if none), before
        // the job is touched; postgres.js itself connects on the first query.
        const target = await withResolveErrors(() =>
          connectCloneTarget(targetUrl, deps.targets, "reelforge-clone-restart")
        );
        // Fence out whoever runs it now before touching the target.
        await store.cancel(taskId, "restarting");
        let dropped: number;
        try {
          dropped = await dropWhatJobCreated(target, taskId);
          const plan = (await store.steps(taskId)).get("plan")?.result as ClonePlan | undefined;
          if (dropped === 0 && task.status === "succeeded" && plan) {
            dropped = await dropWhatPlanCreated(target, plan);
          }
        } catch (error) {
          // The driver's text may name hosts and roles: it goes to the log, the caller gets the gist.
          console.error(
            JSON.stringify({
              event: "clone_restart_failed",
              taskId,
              message: String((error as Error)?.message ?? error),
            }),
          );
          throw new ConflictError(
            "target_unavailable",
            `could not clean the target; see the clone-database log for job ${taskId}`,
          );
        } finally {
          await target.end({ timeout: 1 });
        }
        await store.restart(taskId, {
          clone: {
            ...clone,
            checkpoint: initialCheckpoint(),
            totals: undefined,
            mismatches: undefined,
            storageCursor: undefined,
          },
        });
        return { status: 202, body: { restarted: true, taskId, jobId: taskId, droppedObjects: dropped } };
      },
    }),

    cancel: operatorAction({
      input: byTaskId,
      async run({ taskId }) {
        await cloneJob(taskId);
        if (!(await store.cancel(taskId, "cancelled by an operator"))) {
          throw new ConflictError("job_finished", `Clone job ${taskId} has already ended`);
        }
        return { body: { cancelled: true, job: view((await store.get(taskId))!) } };
      },
    }),
  };

  /**
   * Refuses at once what can be known at once: a target that cannot be connected to (422
   * target_unreachable), the source as target, a target already holding the clone's objects, a
   * target that cannot host what cloned objects need (422 target_cannot_host).
   * Returns what the clone leaves out because the target cannot host it and nothing needs it.
   */
  async function refuseBadTarget(targetUrl: TargetUrl, schemas: string[]): Promise<HostingFinding[]> {
    const target = await connectCloneTarget(targetUrl.url, deps.targets, "reelforge-clone-check");
    const source = openCloneConnection(deps.sourceUrl, "reelforge-clone-check");
    try {
      let targetIdentity: string;
      try {
        targetIdentity = await databaseIdentity(target);
      } catch (error) {
        // The server answered the probe but let no session in (credentials, database, slots). The
        // driver's text names hosts and roles: the log gets it, the caller a reason from its code.
        console.error(JSON.stringify({
          event: "clone_target_check_failed",
          target: targetUrl.masked,
          error: rawDetail(error),
        }));
        throw new TargetUnreachableError(
          `${targetUrl.host}:${targetUrl.port}`,
          connectFailureReason(error),
        );
      }
      if (targetIdentity === await databaseIdentity(source)) {
        throw new BadRequestError(
          "target_is_source",
          "targetUrl points at this project's own database; clone into another database",
        );
      }
      const roles = await target`select rolname from pg_roles`;
      const plan = await readClonePlan(source, schemas, new Set(roles.map((r) => r.rolname as string)));
      const conflicts = await findConflicts(target, plan);
      if (conflicts.length > 0) {
        throw new ConflictError(
          "target_not_empty",
          `the target already holds ${conflicts.length} object(s) the clone would create (${
            conflicts.slice(0, 10).join(", ")
          }); use an empty database or restart an earlier job`,
        );
      }
      const hosting = await checkTargetHosting(target, plan);
      if (hosting.refused.length > 0) throw new TargetCannotHostError(hosting.refused);
      return hosting.skipped;
    } finally {
      await Promise.allSettled([target.end({ timeout: 1 }), source.end({ timeout: 1 })]);
    }
  }
}

/**
 * An action for operators only. Defence in depth — the function framework gates operators too —
 * and first of all: the caller is checked before the input is read, so a non-operator learns
 * nothing, not even which fields a start takes (the framework parses `input`: here it admits
 * anything, and the real schema is applied after the check).
 */
function operatorAction<S extends z.ZodType>(spec: ActionSpec<S>): ActionSpec {
  return defineAction({
    input: z.unknown(),
    async run(raw, caller: Caller) {
      if (!caller.isOperator) throw new OperatorOnlyError("clone-database");
      return await spec.run(parseInput(spec.input, raw), caller);
    },
  });
}

/** A target name that does not resolve is the caller's to fix: 400, not 500. */
async function withResolveErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof HostUnresolvableError) {
      throw new BadRequestError("target_unresolvable", `${error.host} does not resolve; check the host name`);
    }
    throw error;
  }
}
