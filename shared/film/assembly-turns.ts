/**
 * A film's reassemblies (film.assemble) take turns, and accepts made while one renders share the
 * next. Each reassembly renders the whole film from its scenes as it reads them, and the film keeps
 * the latest reading (postproduction.ts applyAssembly): two side by side pay a render each for one
 * film, and under a run of accepts every one waited for the renders of all before it. So:
 * - an assembly that has not read the scenes yet waits (parked, holding no worker) while an older
 *   assembly of the same film is open: it then reads everything accepted meanwhile;
 * - an accepted take's apply (asset.apply), once its take is in the scenes, joins an assembly of
 *   the film that has not read them yet instead of starting its own: that reading comes after its
 *   take. "Not read yet" is a queued or waiting assembly without its recorded reading
 *   (`assemble_movie:timeline`): no slice of it is running, so any reading it makes starts later.
 */
import type { Sql, TransactionSql } from "../db/client.ts";
import type { TaskStatus } from "../engine/task-row.ts";
import { ASSEMBLE_KIND } from "./film-kinds.ts";

type Db = Sql | TransactionSql;

/** The step an assembly records its reading of the scenes in (postproduction.ts assembleMovie). */
export const READ_STEP = "assemble_movie:timeline";

/**
 * The newest assembly of the same film created before this one and still open, while this one
 * has not read the scenes; null when it may read them now. Only older ones: no two wait on each
 * other.
 */
export async function assemblyAhead(db: Db, taskId: string): Promise<string | null> {
  const [ahead] = await db<{ id: string }[]>`
    select o.id from public.background_tasks me
      join public.background_tasks o
        on o.user_id = me.user_id and o.kind = me.kind
       and o.payload @> jsonb_build_object('movieId', me.payload -> 'movieId')
     where me.id = ${taskId}
       and not exists (select from public.background_task_steps s where s.task_id = me.id and s.name = ${READ_STEP})
       and (o.created_at, o.id) < (me.created_at, me.id)
       -- Spelled per status, as engine.open_task_of_same_work spells it: each reads an index.
       and (o.status = 'queued' or o.status = 'waiting'
            or (o.status = 'running' and o.lease_expires_at is not null)
            or (o.status = 'running' and o.lease_expires_at is null))
     order by o.created_at desc, o.id desc
     limit 1`;
  return ahead?.id ?? null;
}

/** The newest assembly of the film that has not read its scenes yet (above), or null. */
export async function unreadAssembly(db: Db, userId: string, movieId: string): Promise<string | null> {
  const [unread] = await db<{ id: string }[]>`
    select o.id from public.background_tasks o
     where o.user_id = ${userId} and o.kind = ${ASSEMBLE_KIND} and o.payload @> ${db.json({ movieId })}
       and (o.status = 'queued' or o.status = 'waiting')
       and not exists (select from public.background_task_steps s where s.task_id = o.id and s.name = ${READ_STEP})
     order by o.created_at desc, o.id desc
     limit 1`;
  return unread?.id ?? null;
}

export async function assemblyStatus(db: Db, taskId: string): Promise<TaskStatus | null> {
  const [task] = await db<
    { status: TaskStatus }[]
  >`select status from public.background_tasks where id = ${taskId}`;
  return task?.status ?? null;
}
