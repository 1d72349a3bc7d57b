/**
 * The deploy's end-to-end check: start a deploy.probe task (engine.enqueue_task rings the doorbell
 * through pg_net), wait until a function claimed it, cancel it. Failing says which link is broken.
 */
import type postgres from "postgres";
import { DEPLOY_PROBE_KIND } from "../../shared/engine/deploy-probe.ts";
import { TASK_ROUTES } from "../../shared/engine/task-routes.ts";

export const PROBE_KIND = DEPLOY_PROBE_KIND;
/** The function whose handlers include deploy.probe (TASK_ROUTES). */
export const PROBE_FUNCTION = TASK_ROUTES[PROBE_KIND];

export interface ProbeOutcome {
  taskId: string;
  /** cancelled: claimed, parked, cancelled by us; succeeded: it ran on by itself first. */
  status: "cancelled" | "succeeded";
}

export async function runDoorbellProbe(
  sql: postgres.Sql,
  timeoutMs: number,
  pollMs = 200,
): Promise<ProbeOutcome> {
  const [{ id }] = await sql`
    select id from engine.enqueue_task(
      p_user_id => null, p_kind => ${PROBE_KIND}, p_function => ${PROBE_FUNCTION},
      p_payload => ${sql.json({ startedBy: "scripts/deploy.sh" })})`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [task] = await sql<
      {
        status: string;
        probe: string | null;
        dispatched_at: Date | null;
        started_at: Date | null;
        last_error: unknown;
      }[]
    >`
      select status, metadata ->> 'probe' as probe, dispatched_at, started_at, last_error
        from public.background_tasks where id = ${id}`;
    if (task.status === "succeeded") return { taskId: id, status: "succeeded" };
    if (task.status === "failed" || task.status === "cancelled") {
      throw new Error(
        `probe task ${id} ended ${task.status} without being claimed: ${JSON.stringify(task.last_error)}`,
      );
    }
    // Claimed and parked (not mid-write): cancel it now.
    if (task.probe === "claimed" && task.status !== "running") {
      const [{ cancelled }] =
        await sql`select engine.cancel_task(${id}, 'deploy probe: doorbell checked') as cancelled`;
      const [after] = await sql`select status from public.background_tasks where id = ${id}`;
      if (!cancelled && after.status !== "succeeded") {
        throw new Error(`probe task ${id} could not be cancelled (status ${after.status})`);
      }
      return { taskId: id, status: after.status };
    }
    if (Date.now() >= deadline) {
      await sql`select engine.cancel_task(${id}, 'deploy probe: not claimed in time')`;
      throw new Error(describeTimeout(id, task, timeoutMs));
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

function describeTimeout(
  id: string,
  task: { dispatched_at: Date | null; started_at: Date | null },
  timeoutMs: number,
): string {
  const seconds = Math.round(timeoutMs / 1000);
  if (task.dispatched_at === null) {
    return `doorbell not rung: probe task ${id} was never dispatched within ${seconds} s (engine.configure_dispatch not run, or pg_net missing)`;
  }
  if (task.started_at === null) {
    return `doorbell rung but probe task ${id} not claimed by ${PROBE_FUNCTION} within ${seconds} s: is ${PROBE_FUNCTION} deployed at the configured functions URL, ` +
      `and is its REELFORGE_INTERNAL_SECRET the one in Vault? (pg_net's answers: select * from net._http_response order by created desc)`;
  }
  return `probe task ${id} was claimed but not parked within ${seconds} s: see ${PROBE_FUNCTION}'s logs`;
}
