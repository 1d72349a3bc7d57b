/**
 * Whether a film is stuck on rendering nobody does: one of its tasks is parked on a render (or
 * local_media) job that no live worker has picked up for longer than
 * engine.settings.render_wait_alert_seconds, and no render worker has beaten its row lately
 * (engine.render_wait). `status` reports it instead of a silent stall.
 */
import type { Sql } from "../db/client.ts";

export interface RenderWait {
  on: "render_worker";
  since: string;
  jobs: number;
  message: string;
}

/** The film's render wait, or null when it waits on nothing, or a live worker will get to it. */
export async function renderWaitOf(
  sql: Sql,
  produceTaskId: string,
  now = new Date(),
): Promise<RenderWait | null> {
  const [row] =
    await sql`select since, jobs, live_workers, alert_after_seconds from engine.render_wait(${produceTaskId}::uuid)`;
  if (!row || row.live_workers > 0) return null;
  const waitedSeconds = Math.floor((now.getTime() - new Date(row.since).getTime()) / 1000);
  if (waitedSeconds < row.alert_after_seconds) return null;
  return {
    on: "render_worker",
    since: new Date(row.since).toISOString(),
    jobs: row.jobs,
    message: `no render worker has picked up this film's rendering for ${waitedSeconds} s`,
  };
}
