/**
 * The clone-database task: one slice at a time, phase by phase, from the checkpoint in
 * metadata.clone. Every unit of work is idempotent on the target (DDL through the target ledger,
 * rows through key-range chunks), so a kill at any moment costs at most the unit in flight.
 */
import { connectFailureReason, logRawTaskError } from "../engine/task-error.ts";
import { cloneTargetBinding, cloneTargetStorageBinding } from "../crypto/secret-bindings.ts";
import type { SecretBox } from "../crypto/secret-box.ts";
import { PermanentTaskError } from "../errors.ts";
import type { TaskContext } from "../engine/task-context.ts";
import type { SliceOutcome } from "../engine/task-context.ts";
import { type CloneCheckpoint, type CloneMetadata, nextChunkRows, nextPhase, type Phase } from "./clone-state.ts";
import { databaseIdentity, openCloneConnection } from "./clone-connections.ts";
import { copyChunk, copyWholeTable } from "./copy-chunk.ts";
import { findConflicts } from "./catalog-conflicts.ts";
import { type ClonePlan, type DdlStatement, readClonePlan, type TableInfo } from "./schema-plan.ts";
import { applyOnce, ensureLedger, forgetJob } from "./target-ledger.ts";
import { sequenceState, verifyClone } from "./verify.ts";
import { copyStorageStep, verifyStorage } from "./clone-storage.ts";
import type { GuardedStorageTarget } from "./storage-api-client.ts";
import { type CloneTargetRules, connectCloneTarget } from "./clone-target.ts";
import type { ObjectStorage } from "../storage/storage.ts";
import type { TaskKind } from "../engine/task-routes.ts";

export const CLONE_KIND = "clone.database" satisfies TaskKind;

/**
 * How long one chunk should take. A kill loses the chunk in flight, so shorter chunks lose less;
 * each chunk costs a key lookup and a target commit (a few ms), so much shorter ones add up.
 */
const CHUNK_TARGET_MS = 1_000;

export interface CloneTaskDeps {
  sourceUrl: string;
  secrets: SecretBox;
  /** This project's Storage, the source of the storage phase. */
  storage: ObjectStorage | null;
  /** Checked on every slice: a target re-pointed (DNS) at a refused address fails the job. */
  targets: CloneTargetRules;
}

const tableName = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;

export function createCloneHandler(deps: CloneTaskDeps) {
  return async function cloneSlice(ctx: TaskContext): Promise<SliceOutcome> {
    const clone = ctx.metadata.clone as CloneMetadata;
    const checkpoint: CloneCheckpoint = { ...clone.checkpoint };
    // Workers keep dying before a chunk commits: halve the chunk per lost lease, so one fits.
    if (ctx.task.stalls > 0) checkpoint.chunkRows = Math.max(1_000, Math.floor(checkpoint.chunkRows / 2 ** ctx.task.stalls));
    const targetUrl = await deps.secrets.open(clone.target, cloneTargetBinding(ctx.task.id));
    // Mid key rotation: this slice's checkpoints write the clone metadata back, so they must carry
    // values sealed under the current key, or they would undo what secrets:rotate re-sealed.
    if (!(await deps.secrets.isCurrent(clone.target))) {
      clone.target = await deps.secrets.seal(targetUrl, cloneTargetBinding(ctx.task.id));
    }
    if (clone.targetStorage && !(await deps.secrets.isCurrent(clone.targetStorage))) {
      const binding = cloneTargetStorageBinding(ctx.task.id);
      clone.targetStorage = await deps.secrets.seal(await deps.secrets.open(clone.targetStorage, binding), binding);
    }
    // A refused target (400 target_not_allowed) fails the job for good; a name that does not
    // resolve right now is retried like any unreachable target.
    const target = await connectCloneTarget(targetUrl, deps.targets, "reelforge-clone-target");
    const source = openCloneConnection(deps.sourceUrl, "reelforge-clone-source");
    const save = async (extra: Partial<CloneMetadata> = {}) => {
      Object.assign(clone, extra, { checkpoint: { ...checkpoint } });
      await ctx.checkpoint({ clone }, progressOf(checkpoint, clone));
    };

    try {
      for (let phase = nextPhase(checkpoint, clone.options); phase; phase = nextPhase(checkpoint, clone.options)) {
        if (checkpoint.phase !== phase) {
          checkpoint.phase = phase;
          checkpoint.statementsApplied = 0;
          await save();
        }
        const finished = await runPhase(phase);
        if (!finished) return { type: "continue", metadata: { clone: { ...clone, checkpoint } } };
        checkpoint.completedPhases = [...checkpoint.completedPhases, phase];
        await save();
      }
      await forgetJob(target, ctx.task.id);
      const rows = Object.values(checkpoint.rowsPerTable).reduce((a, b) => a + b, 0);
      return { type: "done", result: { verified: true, tables: Object.keys(clone.totals ?? {}).length, rows } };
    } finally {
      await Promise.allSettled([source.end({ timeout: 1 }), target.end({ timeout: 1 })]);
    }

    /** Runs (part of) one phase; false when the slice's budget ran out first. */
    async function runPhase(phase: Phase): Promise<boolean> {
      switch (phase) {
        case "preflight":
          return await preflight();
        case "types":
        case "schema":
        case "post_data":
          return await applyStatements((await plan())[phase === "post_data" ? "postData" : phase]);
        case "data":
          return await copyData();
        case "storage":
          return await copyStorage();
        case "verify":
          return await verify();
      }
    }

    async function plan(): Promise<ClonePlan> {
      return await ctx.step("plan", async () => {
        const roles = await target`select rolname from pg_roles`;
        return await readClonePlan(source, clone.options.schemas, new Set(roles.map((r) => r.rolname as string)));
      });
    }

    async function preflight(): Promise<boolean> {
      let targetIdentity: string;
      try {
        targetIdentity = await databaseIdentity(target);
      } catch (error) {
        // The driver's text names hosts and users: the log gets it, the owner a reason and the task id.
        logRawTaskError(error, ctx.task, "target_unreachable");
        throw new PermanentTaskError("target_unreachable", `cannot connect to the target (${connectFailureReason(error)}); logged as ${ctx.task.id}`);
      }
      if (targetIdentity === await databaseIdentity(source)) {
        throw new PermanentTaskError("target_is_source", "the target is the source database itself");
      }
      const cloned = await plan();
      // A job resumed after its preflight recorded objects must not trip over its own work.
      await ctx.step("preflight-conflicts", async () => {
        const conflicts = await findConflicts(target, cloned);
        if (conflicts.length > 0) {
          throw new PermanentTaskError("target_not_empty", `the target already has: ${conflicts.slice(0, 20).join(", ")}`);
        }
        return conflicts;
      });
      await ensureLedger(target);
      const totals = Object.fromEntries(cloned.tables.filter((t) => !t.partitioned).map((t) => [tableName(t), t.estimatedRows]));
      await save({ totals });
      return true;
    }

    async function applyStatements(statements: DdlStatement[]): Promise<boolean> {
      while (checkpoint.statementsApplied < statements.length) {
        if (ctx.shouldYield()) return false;
        await applyOnce(target, ctx.task.id, statements[checkpoint.statementsApplied]);
        checkpoint.statementsApplied++;
        await save();
      }
      return true;
    }

    async function copyData(): Promise<boolean> {
      // A job that passed preflight before the ledger recorded chunks gets the table now.
      await ensureLedger(target);
      for (const table of (await plan()).tables) {
        const name = tableName(table);
        if (table.partitioned || checkpoint.completedTables.includes(name)) continue;
        if (ctx.shouldYield()) return false;
        if (checkpoint.currentTable !== name) {
          checkpoint.currentTable = name;
          checkpoint.lastKey = null;
          await save();
        } else if (!table.key && !checkpoint.restartedFromZero.includes(name)) {
          // An interrupted keyless table has no chunk to resume from: it starts over.
          checkpoint.restartedFromZero = [...checkpoint.restartedFromZero, name];
        }
        const finished = table.key ? await copyKeyedTable(table, name) : await copyKeylessTable(table, name);
        if (!finished) return false;
        checkpoint.completedTables = [...checkpoint.completedTables, name];
        checkpoint.currentTable = null;
        checkpoint.lastKey = null;
        await save();
      }
      return true;
    }

    async function copyKeyedTable(table: TableInfo, name: string): Promise<boolean> {
      for (;;) {
        if (ctx.shouldYield()) return false;
        const started = Date.now();
        const cpuBefore = ctx.budget.cpuSpentMs();
        const chunk = await copyChunk(source, target, table, ctx.task.id, checkpoint.lastKey, checkpoint.chunkRows);
        const elapsed = Date.now() - started;
        const cpuAfter = ctx.budget.cpuSpentMs();
        // Only now, with the chunk committed on the target, does the checkpoint move.
        checkpoint.lastKey = chunk.lastKey;
        checkpoint.rowsPerTable = { ...checkpoint.rowsPerTable, [name]: (checkpoint.rowsPerTable[name] ?? 0) + chunk.rows };
        checkpoint.copyMs += elapsed;
        // A replayed chunk took no time and says nothing about the copy's speed.
        if (!chunk.replayed && chunk.rows >= checkpoint.chunkRows) {
          const byWall = nextChunkRows(chunk.rows, elapsed, Math.min(CHUNK_TARGET_MS, ctx.budget.remainingMs() / 3));
          // Relaying rows costs the worker CPU, which the platform limits per worker: a slice
          // always copies at least one chunk, so a chunk may take half the slice's CPU share.
          const cpuMs = cpuBefore === null || cpuAfter === null ? 0 : cpuAfter - cpuBefore;
          const byCpu = cpuMs > 0 ? nextChunkRows(chunk.rows, cpuMs, ctx.budget.cpuLimitMs / 2) : byWall;
          checkpoint.chunkRows = Math.min(byWall, byCpu);
        }
        await save();
        if (chunk.done) return true;
      }
    }

    async function copyKeylessTable(table: TableInfo, name: string): Promise<boolean> {
      const started = Date.now();
      const { rows } = await copyWholeTable(source, target, table);
      checkpoint.rowsPerTable = { ...checkpoint.rowsPerTable, [name]: rows };
      checkpoint.copyMs += Date.now() - started;
      return true;
    }

    async function storageTarget(): Promise<GuardedStorageTarget> {
      if (!deps.storage || !clone.targetStorage) {
        throw new PermanentTaskError("storage_not_configured", "includeStorage needs this project's storage and options.targetStorage");
      }
      return { ...JSON.parse(await deps.secrets.open(clone.targetStorage, cloneTargetStorageBinding(ctx.task.id))), guard: deps.targets.guard };
    }

    async function copyStorage(): Promise<boolean> {
      const { done, cursor } = await copyStorageStep(
        deps.storage!,
        await storageTarget(),
        clone.storageCursor ?? null,
        ctx.budget,
        (cursor) => save({ storageCursor: cursor }),
      );
      await save({ storageCursor: cursor });
      return done;
    }

    async function verify(): Promise<boolean> {
      const { tables, sequences } = await plan();
      const mismatches = [...(clone.mismatches ?? [])];
      const toVerify = clone.options.includeData ? tables.filter((t) => !t.partitioned) : [];
      // Table by table, checkpointed: hashing a large database may take more than one slice.
      for (const table of toVerify) {
        const name = tableName(table);
        if ((checkpoint.verifiedTables ?? []).includes(name)) continue;
        if (ctx.shouldYield()) return false;
        mismatches.push(...await verifyClone(source, target, [table], []));
        checkpoint.verifiedTables = [...(checkpoint.verifiedTables ?? []), name];
        await save({ mismatches });
      }
      // Sequence values are read at the very end, after the data they numbered.
      for (const seq of sequences) {
        const state = await sequenceState(source, seq);
        await target`select setval(${`"${seq.schema.replaceAll('"', '""')}"."${seq.name.replaceAll('"', '""')}"`}::regclass,
                                   ${state.lastValue}::bigint, ${state.isCalled})`;
      }
      mismatches.push(...await verifyClone(source, target, [], sequences));
      if (clone.options.includeStorage) mismatches.push(...await verifyStorage(deps.storage!, await storageTarget()));
      if (mismatches.length > 0) {
        await save({ mismatches });
        throw new PermanentTaskError(
          "verify_failed",
          `verification found ${mismatches.length} mismatch(es): ${mismatches.slice(0, 5).map(describeMismatch).join(", ")}`,
        );
      }
      return true;
    }
  };
}

function describeMismatch(m: { table?: string; sequence?: string; bucket?: string; object?: string }): string {
  return m.table ?? m.sequence ?? (m.object ? `${m.bucket}/${m.object}` : `bucket ${m.bucket}`);
}

function progressOf(checkpoint: CloneCheckpoint, clone: CloneMetadata): number {
  const phasesDone = checkpoint.completedPhases.length;
  const total = Object.values(clone.totals ?? {}).reduce((a, b) => a + b, 0);
  const copied = Object.values(checkpoint.rowsPerTable).reduce((a, b) => a + b, 0);
  // Data dominates the time; the other phases share the rest.
  const dataShare = total > 0 ? Math.min(1, copied / total) : checkpoint.completedPhases.includes("data") ? 1 : 0;
  return Math.min(99, Math.round(phasesDone * 5 + dataShare * 65));
}
