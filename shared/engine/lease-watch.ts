/**
 * Liveness locks: while a slice runs, its worker holds a session advisory lock on the task
 * (engine.hold_lease). Postgres drops the lock the moment the worker's connection closes, so a
 * killed worker's task is taken back within a sweep instead of when its lease runs out.
 *
 * One connection per worker process holds the locks of all its slices: a lock and its release
 * must use the same session, and a connection taken from the query pool per slice could starve
 * the slices' own queries.
 */
import type { Sql } from "../db/client.ts";
import type { TaskRow } from "./task-row.ts";

export type LeaseWatch = (task: TaskRow) => Promise<() => Promise<void>>;

/**
 * `locks` must be a one-connection pool that never closes while idle. Behind a transaction
 * pooler a session lock would stick to whichever backend ran it: there, pass nothing and leases
 * simply run out as before.
 */
export function createLeaseWatch(locks: Sql | null): LeaseWatch {
  return async function watchLease(task) {
    if (!locks) return async () => {};
    const [{ held }] = await locks`select engine.hold_lease(${task.id}, ${task.fencingToken}::bigint) as held`;
    // Not held: a zombie of this task still has the lock; its lease expiry covers this slice.
    if (!held) return async () => {};
    return async () => {
      await locks`select engine.release_lease(${task.id})`;
    };
  };
}
