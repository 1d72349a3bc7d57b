/**
 * Orphan cleanup: a film owner's objects under films/<user>/ and assets/<user>/ that no asset version and no
 * cache entry references are deleted once they have been seen unreferenced for the retention
 * period (storage_cleanup_log keeps when each was first seen and when it was removed). The
 * storage.cleanup task runs it daily (pg_cron → public.enqueue_storage_cleanup), one page per
 * recorded step, so a killed slice resumes after the last page it finished.
 */
import type { Sql, TransactionSql } from "../db/client.ts";
import type { TaskHandler } from "../engine/slice-runner.ts";
import { SliceYield, type TaskContext } from "../engine/task-context.ts";
import { createStorage, type ObjectStorage } from "../storage/index.ts";
import { accountPrefixes } from "../storage/owner-objects.ts";
import type { FilmDeps } from "./film-env.ts";
import type { TaskKind } from "../engine/task-routes.ts";

export const STORAGE_CLEANUP_KIND = "storage.cleanup" satisfies TaskKind;
export const FORGET_ACCOUNT_KIND = "account.forget" satisfies TaskKind;
const PAGE = 500;

export interface SweepOptions {
  sql: Sql | TransactionSql;
  storage: ObjectStorage;
  bucket: string;
  /** Only names under this folder, e.g. `films/<user>/`. */
  prefix: string;
  retentionSeconds: number;
}

export interface PageResult {
  listed: number;
  deleted: string[];
  /** The cursor for the next page; null when the prefix is done. */
  next: string | null;
}

/** One page after `after`: marks, deletes what is due, records the deletions. */
export async function sweepPage(o: SweepOptions, after: string | null): Promise<PageResult> {
  const page = await o.storage.listObjects(o.bucket, { after: after ?? o.prefix, limit: PAGE });
  const ours = page.filter((object) => object.name.startsWith(o.prefix));
  const done = ours.length < page.length || page.length < PAGE;
  if (ours.length === 0) return { listed: 0, deleted: [], next: null };
  const due = (await o.sql`
    select public.storage_cleanup_due(${o.bucket}, ${ours.map((x) => x.name)}::text[], ${
    ours.map((x) => x.size)
  }::bigint[], ${o.retentionSeconds}) as path`)
    .map((row) => row.path as string);
  if (due.length) {
    await o.storage.remove(o.bucket, due);
    await o.sql`select public.storage_cleanup_done(${o.bucket}, ${due}::text[])`;
  }
  return { listed: ours.length, deleted: due, next: done ? null : ours[ours.length - 1].name };
}

/** Every page of the prefix; returns what was removed. */
export async function sweepOrphans(o: SweepOptions): Promise<{ listed: number; deleted: string[] }> {
  const total = { listed: 0, deleted: [] as string[] };
  for (let after: string | null = null, first = true; first || after !== null; first = false) {
    const page = await sweepPage(o, after);
    total.listed += page.listed;
    total.deleted.push(...page.deleted);
    after = page.next;
  }
  return total;
}

/** The owner's folders: film media, and regenerate-asset's versioned previews. */
export const ownerPrefixes = (userId: string) => [`films/${userId}/`, `assets/${userId}/`];

/** storage.cleanup: the task owner's folders, a recorded step per page. */
export function storageCleanupHandler(deps: FilmDeps): TaskHandler {
  return async (ctx: TaskContext) => {
    const retentionSeconds = Math.max(0, Number(ctx.payload.retentionSeconds ?? 86400));
    let listed = 0;
    let deleted = 0;
    for (const [i, prefix] of ownerPrefixes(ctx.task.userId).entries()) {
      const options: Omit<SweepOptions, "sql" | "storage"> = {
        bucket: deps.config.REELFORGE_MEDIA_BUCKET,
        prefix,
        retentionSeconds,
      };
      let after: string | null = null;
      for (let n = 0;; n++) {
        // Everything a page reads and writes goes through the step's transaction, Storage's listing
        // (storage.objects) included: on the worker's pool it waited for a second connection while
        // the step held one, and four slices at once (the daily run rings every owner's together)
        // held the whole pool and waited on each other until the platform killed the worker.
        const page: PageResult = await ctx.step(
          `sweep-${i}-page-${n}`,
          (tx) => sweepPage({ ...options, sql: tx, storage: createStorage(deps.config, tx) }, after),
        );
        listed += page.listed;
        deleted += page.deleted.length;
        if (page.next === null) break;
        after = page.next;
      }
    }
    return { type: "done", result: { listed, deleted } };
  };
}

/**
 * account.forget {userId, againSeconds}: a deleted account's files, every one (nothing of theirs
 * references them any more), a recorded step per page removed. Then once more `againSeconds`
 * after the first pass: a job running at the deletion (a render worker's) can still upload its
 * file before it finds its lease gone (migrations/20261205000100_forget_account_files.sql).
 */
export function forgetAccountHandler(deps: FilmDeps): TaskHandler {
  return async (ctx: TaskContext) => {
    const userId = String(ctx.payload.userId);
    const bucket = deps.config.REELFORGE_MEDIA_BUCKET;
    const pass = Number(ctx.metadata.pass ?? 0);
    let removed = Number(ctx.metadata.removed ?? 0);
    for (const [i, prefix] of accountPrefixes(userId).entries()) {
      for (let n = 0;; n++) {
        const count = await ctx.step(`forget-${pass}-${i}-page-${n}`, async (tx) => {
          const storage = createStorage(deps.config, tx);
          const names = (await storage.listObjects(bucket, { after: prefix, limit: PAGE }))
            .map((object) => object.name)
            .filter((name) => name.startsWith(prefix));
          if (names.length) await storage.remove(bucket, names);
          return names.length;
        });
        removed += count;
        if (count < PAGE) break;
      }
    }
    if (pass === 0) {
      throw new SliceYield({ pass: 1, removed }, Math.max(0, Number(ctx.payload.againSeconds ?? 600)) * 1000);
    }
    return { type: "done", result: { removed } };
  };
}
