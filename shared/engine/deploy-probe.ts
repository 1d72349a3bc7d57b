/**
 * deploy.probe: the task `scripts/deploy.sh` starts to check the doorbell end to end (pg_net →
 * function URL → internal secret → claim). Its first slice only records that it was claimed and
 * parks the task; the deploy script then cancels it. Ownerless and started only over the database
 * (migration 20261203008500), so no user can start, see or resume one.
 */
import type { TaskHandler } from "./slice-runner.ts";
import { SliceYield } from "./task-context.ts";
import type { TaskKind } from "./task-routes.ts";

export const DEPLOY_PROBE_KIND = "deploy.probe" satisfies TaskKind;

/** How long a claimed probe waits to be cancelled before it ends by itself. */
const PARK_MS = 10 * 60_000;

/** Claimed once: mark it and park. Run again (nobody cancelled it): end, so no probe lives forever. */
export const deployProbeHandler: TaskHandler = async (ctx) => {
  if (ctx.metadata.probe === "claimed") {
    return await Promise.resolve({
      type: "done" as const,
      result: { probe: "not cancelled by the deploy script; ended by itself" },
    });
  }
  throw new SliceYield({ ...ctx.metadata, probe: "claimed", claimedAt: new Date().toISOString() }, PARK_MS);
};
