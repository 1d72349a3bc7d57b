/**
 * A render worker's health, two ways: a row per worker in engine.render_workers beaten every few
 * seconds (what a film's status and a dashboard read), and an HTTP answer for a container's or
 * systemd's health check. Healthy = claiming work: every slot busy, or a claim query answered
 * recently (an idle worker polls every few hundred ms; one whose database is gone stops answering).
 */
import { hostname } from "node:os";
import type { Sql } from "../db/client.ts";
import type { WorkerLoopStats } from "./worker-loop.ts";

/** A claim query older than this with a free slot means the worker is not claiming. */
export const CLAIM_STALE_MS = 30_000;

/** The health answer: 200 while claiming, 503 otherwise, with what it is based on. */
export function describeHealth(stats: WorkerLoopStats, now = new Date()) {
  const sincePollMs = stats.lastPollAt ? now.getTime() - stats.lastPollAt.getTime() : null;
  const claiming = !stats.stopping &&
    (stats.running >= stats.slots || (sincePollMs !== null && sincePollMs < CLAIM_STALE_MS));
  return {
    status: claiming ? 200 : 503,
    body: {
      claiming,
      workerId: stats.workerId,
      kinds: stats.kinds,
      slots: stats.slots,
      inFlight: stats.running,
      lastPollAt: stats.lastPollAt?.toISOString() ?? null,
      lastClaimAt: stats.lastClaimAt?.toISOString() ?? null,
    },
  };
}

/** Beats the worker's row every `everyMs` until the returned stop is called, which removes it. */
export function startHeartbeat(
  sql: Sql,
  stats: () => WorkerLoopStats,
  o: { everyMs?: number; log?: (line: string) => void } = {},
) {
  const beat = async () => {
    const s = stats();
    await sql`
      select engine.render_worker_beat(${s.workerId}, ${hostname()}, ${process.pid}, ${s.kinds}::text[], ${s.slots}, ${s.running},
        ${s.lastPollAt}, ${s.lastClaimAt})`;
  };
  const tick = () =>
    beat().catch((error) => o.log?.(`heartbeat failed: ${error instanceof Error ? error.message : error}`));
  void tick();
  const timer = setInterval(tick, o.everyMs ?? 5_000);
  return async function stopHeartbeat(): Promise<void> {
    clearInterval(timer);
    await sql`select engine.render_worker_gone(${stats().workerId})`.catch(() => {});
  };
}
