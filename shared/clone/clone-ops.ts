/**
 * The clone phases' operations (clone-phase.ts CloneOps) over the job's real connections and
 * storages, for one slice.
 */
import type { Sql } from "../db/client.ts";
import { cloneTargetStorageBinding } from "../crypto/secret-bindings.ts";
import type { SecretBox, StoredSecret } from "../crypto/secret-box.ts";
import type { SliceBudget } from "../engine/slice-budget.ts";
import { connectFailureReason, logRawTaskError } from "../engine/task-error.ts";
import { PermanentTaskError } from "../errors.ts";
import type { ObjectStorage } from "../storage/storage.ts";
import { findConflicts } from "./catalog-conflicts.ts";
import type { CloneOps } from "./clone-phase.ts";
import { type CloneWirePool, databaseIdentity } from "./clone-connections.ts";
import type { CloneSessions } from "./clone-sessions.ts";
import { copyStorageStep, verifyStorage } from "./clone-storage.ts";
import type { CloneTargetRules } from "./clone-target.ts";
import { copyChunk } from "./copy-chunk.ts";
import type { GuardedStorageTarget } from "./storage-api-client.ts";
import { applyOnce, ensureLedger } from "./target-ledger.ts";
import { sequenceState, verifyClone } from "./verify.ts";

export interface CloneTaskDeps {
  sourceUrl: string;
  secrets: SecretBox;
  /** This project's Storage, the source of the storage phase. */
  storage: ObjectStorage | null;
  /** Checked on every slice: a target re-pointed (DNS) at a refused address fails the job. */
  targets: CloneTargetRules;
  /** Tables copied at once (REELFORGE_CLONE_CONCURRENCY); 1 when absent. */
  concurrency?: number;
}

export interface CloneSlice {
  deps: CloneTaskDeps;
  source: Sql;
  /** Wire connections for the data copy: one of each per table in flight. */
  sourceWires: CloneWirePool;
  targetWires: CloneWirePool;
  target: Sql;
  task: { id: string; kind?: string };
  budget: Pick<SliceBudget, "exhausted">;
  /** Numbered sessions over `source` and `target` (session 0) for the phases that work in parallel. */
  sessions: CloneSessions;
  /** The target project's Storage API, sealed (options.targetStorage); absent without includeStorage. */
  targetStorage: StoredSecret | undefined;
}

export function cloneOps(
  { deps, source, sourceWires, targetWires, target, task, budget, targetStorage, sessions }: CloneSlice,
): CloneOps {
  async function storageTarget(): Promise<GuardedStorageTarget> {
    if (!deps.storage || !targetStorage) {
      throw new PermanentTaskError(
        "storage_not_configured",
        "includeStorage needs this project's storage and options.targetStorage",
      );
    }
    return {
      ...JSON.parse(await deps.secrets.open(targetStorage, cloneTargetStorageBinding(task.id))),
      guard: deps.targets.guard,
    };
  }

  return {
    async targetIdentity() {
      try {
        return await databaseIdentity(target);
      } catch (error) {
        // The driver's text names hosts and users: the log gets it, the owner a reason and the task id.
        logRawTaskError(error, task, "target_unreachable");
        throw new PermanentTaskError(
          "target_unreachable",
          `cannot connect to the target (${connectFailureReason(error)}); logged as ${task.id}`,
        );
      }
    },
    sourceIdentity: () => databaseIdentity(source),
    async serverVersions() {
      const version = async (sql: Sql) =>
        Number((await sql`select current_setting('server_version_num') as v`)[0].v);
      return { source: await version(source), target: await version(target) };
    },
    findConflicts: (plan) => findConflicts(target, plan),
    async ensureLedger() {
      await ensureLedger(target);
    },
    openSessions: (wanted, sides) => sessions.open(wanted, sides),
    async applyStatement(statement, session = 0) {
      await applyOnce(await sessions.target(session), task.id, statement);
    },
    copyChunk: (table, after, maxRows, format) =>
      sourceWires.use((from) =>
        targetWires.use((into) => copyChunk(from, into, table, task.id, after, maxRows, format))
      ),
    openCopyLanes: (wanted) => targetWires.reserve(wanted),
    async copyStorageStep(cursor, onProgress) {
      return await copyStorageStep(deps.storage!, await storageTarget(), cursor, budget, onProgress);
    },
    verifyTable: async (table, session = 0) =>
      await verifyClone(sessions.source(session), await sessions.target(session), [table], []),
    async syncSequence(seq) {
      const state = await sequenceState(source, seq);
      await target`select setval(${`"${seq.schema.replaceAll('"', '""')}"."${
        seq.name.replaceAll('"', '""')
      }"`}::regclass,
                                 ${state.lastValue}::bigint, ${state.isCalled})`;
    },
    verifySequences: (sequences) => verifyClone(source, target, [], sequences),
    async verifyStorage() {
      return await verifyStorage(deps.storage!, await storageTarget());
    },
  };
}
