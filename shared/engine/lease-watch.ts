/**
 * Liveness locks: while a slice runs, its worker holds a session advisory lock on the task
 * (engine.lease_lock_id). Postgres drops the lock the moment the worker's connection closes, so a
 * killed worker's task is taken back within a sweep instead of when its lease runs out.
 *
 * One connection per worker process holds the locks of all its slices: a lock and its release
 * must use the same session, and a connection taken from the query pool per slice could starve
 * the slices' own queries.
 */
import type { Sql } from "../db/client.ts";
import type { TaskRow } from "./task-row.ts";

type Release = () => Promise<void>;

export interface LeaseWatch {
  /** Watches a lease already claimed (pulled tasks: their id is known only once claimed). */
  (task: TaskRow): Promise<Release>;
  /**
   * Takes the lock before a named task is claimed, so no moment exists in which the task is
   * claimed and unwatched: claim with `held` (engine.claim_task's p_lock_held), then release
   * after the slice — or at once if the claim fails. Not held: claim as before and watch after.
   */
  lockFirst(taskId: string): Promise<{ held: boolean; release: Release }>;
}

const noRelease: Release = async () => {};

/**
 * `locks` must be a one-connection pool that never closes while idle. Behind a transaction
 * pooler a session lock would stick to whichever backend ran it: there, pass nothing and leases
 * simply run out as before.
 */
export function createLeaseWatch(locks: Sql | null): LeaseWatch {
  const release = (taskId: string): Release => async () => {
    await locks!`select engine.release_lease(${taskId})`;
  };
  async function watchLease(task: TaskRow): Promise<Release> {
    if (!locks) return noRelease;
    const [{ held }] =
      await locks`select engine.hold_lease(${task.id}, ${task.fencingToken}::bigint) as held`;
    // Not held: a zombie of this task still has the lock; its lease expiry covers this slice.
    return held ? release(task.id) : noRelease;
  }
  async function lockFirst(taskId: string) {
    if (!locks) return { held: false, release: noRelease };
    // A lock this session already has belongs to a slice of this task still running here: then
    // the claim must see that holder alive, so take nothing and claim unwatched.
    const [{ held }] = await locks`
      select case when mine then false else pg_catalog.pg_try_advisory_lock(7301, engine.lease_lock_id(${taskId})) end as held
        from (select exists (select 1 from pg_catalog.pg_locks l
                              where l.pid = pg_catalog.pg_backend_pid() and l.locktype = 'advisory' and l.granted
                                and l.classid = 7301::oid and l.objsubid = 2
                                and l.objid = engine.lease_lock_id(${taskId})::oid) as mine) as s`;
    return held ? { held: true, release: release(taskId) } : { held: false, release: noRelease };
  }
  return Object.assign(watchLease, { lockFirst });
}
