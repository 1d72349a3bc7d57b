/**
 * clone-database's actions: start, status, resume, restart, cancel — all keyed by `jobId`, all
 * for the job's owner only (403 for anyone else, 404 for an unknown job).
 */
import { z } from "zod";
import { AppError, BadRequestError, ConflictError, ForbiddenError, NotFoundError } from "../errors.ts";
import { cloneTargetBinding, cloneTargetStorageBinding } from "../crypto/secret-bindings.ts";
import type { SecretBox } from "../crypto/secret-box.ts";
import type { TaskRow } from "../engine/task-row.ts";
import type { TaskStore } from "../engine/task-store.ts";
import { type ActionSpec, defineAction } from "../http/function-app.ts";
import { describeTask } from "../http/task-actions.ts";
import { type CloneMetadata, describeClone, initialCheckpoint } from "./clone-state.ts";
import { databaseIdentity, openCloneConnection } from "./clone-connections.ts";
import { CLONE_KIND } from "./clone-task.ts";
import { findConflicts, readClonePlan } from "./schema-plan.ts";
import { parseTargetUrl } from "./target-url.ts";
import { dropWhatJobCreated, dropWhatPlanCreated } from "./target-ledger.ts";
import type { ClonePlan } from "./schema-plan.ts";

const WORKER = "clone-database";
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

const byJobId = z.object({ jobId: z.string().uuid({ error: "jobId must be a clone job's UUID" }) }).strict();

export interface CloneActionDeps {
  store: TaskStore;
  secrets: SecretBox | null;
  sourceUrl: string;
}

export function cloneActions(deps: CloneActionDeps): Record<string, ActionSpec> {
  const { store } = deps;

  async function ownJob(jobId: string, userId: string): Promise<TaskRow> {
    const task = await store.get(jobId);
    if (!task || task.kind !== CLONE_KIND) throw new NotFoundError("Clone job", jobId);
    if (task.userId !== userId) throw new ForbiddenError(`Clone job ${jobId} belongs to another user`);
    return task;
  }

  function secretBox(): SecretBox {
    if (!deps.secrets) throw new AppError("not_configured", 503, "clone-database needs the REELFORGE_ENCRYPTION_KEY function secret");
    return deps.secrets;
  }

  const view = (task: TaskRow) => {
    const summary = describeTask(task);
    const clone = task.metadata.clone as CloneMetadata | undefined;
    return {
      jobId: task.id,
      status: task.status,
      progress: task.progress,
      lastError: task.lastError,
      attempts: task.attempts,
      createdAt: task.createdAt,
      updatedAt: task.updatedAt,
      finishedAt: task.finishedAt,
      ...(clone ? describeClone(clone, summary.isStale) : { isStale: summary.isStale }),
    };
  };

  return {
    start: defineAction({
      input: startInput,
      async run({ targetUrl, options }, caller) {
        const target = parseTargetUrl(targetUrl);
        if (options.includeStorage && !options.targetStorage) {
          throw new BadRequestError(
            "target_storage_required",
            "includeStorage needs options.targetStorage: { url: the target project's API URL, serviceRoleKey }",
          );
        }
        await refuseBadTarget(target.url, options.schemas);
        const { targetStorage, ...shownOptions } = options;
        const box = secretBox();
        // The secrets are sealed to the job's row, so its id must exist first.
        const metadataFor = async (jobId: string): Promise<{ clone: CloneMetadata }> => ({
          clone: {
            options: shownOptions,
            target: await box.seal(target.url, cloneTargetBinding(jobId)),
            targetMasked: target.masked,
            targetStorage: options.includeStorage && targetStorage
              ? await box.seal(JSON.stringify(targetStorage), cloneTargetStorageBinding(jobId))
              : undefined,
            checkpoint: initialCheckpoint(),
          },
        });
        const task = await store.enqueueWithMetadataFor({ userId: caller.userId, kind: CLONE_KIND, worker: WORKER, maxAttempts: 8 }, metadataFor);
        return { status: 202, body: { jobId: task.id, target: target.masked } };
      },
    }),

    status: defineAction({
      input: byJobId,
      async run({ jobId }, caller) {
        return { body: { job: view(await ownJob(jobId, caller.userId)) } };
      },
    }),

    resume: defineAction({
      input: byJobId,
      async run({ jobId }, caller) {
        const task = await ownJob(jobId, caller.userId);
        await store.resume(jobId);
        const checkpoint = (task.metadata.clone as CloneMetadata | undefined)?.checkpoint;
        return { status: 202, body: { resumed: true, fromTable: checkpoint?.currentTable ?? null, phase: checkpoint?.phase ?? null } };
      },
    }),

    restart: defineAction({
      input: byJobId,
      async run({ jobId }, caller) {
        const task = await ownJob(jobId, caller.userId);
        const clone = task.metadata.clone as CloneMetadata;
        // Fence out whoever runs it now before touching the target.
        await store.cancel(jobId, "restarting");
        const target = openCloneConnection(await secretBox().open(clone.target, cloneTargetBinding(jobId)), "reelforge-clone-restart");
        let dropped: number;
        try {
          dropped = await dropWhatJobCreated(target, jobId);
          const plan = (await store.steps(jobId)).get("plan")?.result as ClonePlan | undefined;
          if (dropped === 0 && task.status === "succeeded" && plan) dropped = await dropWhatPlanCreated(target, plan);
        } catch (error) {
          throw new ConflictError("target_unavailable", `could not clean the target: ${(error as Error).message}`);
        } finally {
          await target.end({ timeout: 1 });
        }
        await store.restart(jobId, {
          clone: { ...clone, checkpoint: initialCheckpoint(), totals: undefined, mismatches: undefined, storageCursor: undefined },
        });
        return { status: 202, body: { restarted: true, jobId, droppedObjects: dropped } };
      },
    }),

    cancel: defineAction({
      input: byJobId,
      async run({ jobId }, caller) {
        await ownJob(jobId, caller.userId);
        if (!(await store.cancel(jobId, "cancelled by owner"))) {
          throw new ConflictError("job_finished", `Clone job ${jobId} has already ended`);
        }
        return { body: { cancelled: true, job: view((await store.get(jobId))!) } };
      },
    }),
  };

  /** Refuses at once what can be known at once: the source as target, a target already holding the clone's objects. */
  async function refuseBadTarget(targetUrl: string, schemas: string[]) {
    const target = openCloneConnection(targetUrl, "reelforge-clone-check");
    const source = openCloneConnection(deps.sourceUrl, "reelforge-clone-check");
    try {
      let targetIdentity: string;
      try {
        targetIdentity = await databaseIdentity(target);
      } catch {
        return; // unreachable now: the job's preflight retries and fails with the cause
      }
      if (targetIdentity === await databaseIdentity(source)) {
        throw new BadRequestError("target_is_source", "targetUrl points at this project's own database; clone into another database");
      }
      const roles = await target`select rolname from pg_roles`;
      const plan = await readClonePlan(source, schemas, new Set(roles.map((r) => r.rolname as string)));
      const conflicts = await findConflicts(target, plan);
      if (conflicts.length > 0) {
        throw new ConflictError(
          "target_not_empty",
          `the target already holds ${conflicts.length} object(s) the clone would create (${conflicts.slice(0, 10).join(", ")}); use an empty database or restart an earlier job`,
        );
      }
    } finally {
      await Promise.allSettled([target.end({ timeout: 1 }), source.end({ timeout: 1 })]);
    }
  }
}
