/**
 * What the admin API does to the supervised render workers (chaos and outage tests): list them,
 * SIGKILL them as an OOM or crash would, pause the supervisor (workers stopped, none restarted)
 * and resume it.
 */
import {
  readRenderSupervisorState,
  type RenderSupervisorState,
  writePauseRequest,
} from "./render-supervisor-state.ts";
import { isRenderWorker, readRenderSupervisorPid } from "./render-worker-process.ts";
import type { StackLayout } from "./stack-layout.ts";

export interface RenderWorkersView extends Omit<RenderSupervisorState, "supervisorPid"> {
  /** Null when no supervisor runs: nothing restarts a worker that dies. */
  supervisorPid: number | null;
}

export function createRenderWorkerControl(layout: StackLayout) {
  return {
    async list(): Promise<RenderWorkersView> {
      const supervisorPid = await readRenderSupervisorPid(layout);
      const state = await readRenderSupervisorState(layout).catch(() => null);
      return { supervisorPid, paused: state?.paused ?? false, workers: state?.workers ?? [] };
    },
    /** SIGKILLs the worker of `slot` (all when omitted) and its FFmpeg children; returns the pids killed. */
    async kill(slot?: number): Promise<number[]> {
      const state = await readRenderSupervisorState(layout).catch(() => null);
      const killed: number[] = [];
      for (const worker of state?.workers ?? []) {
        if (
          worker.pid === null || (slot !== undefined && worker.slot !== slot) ||
          !await isRenderWorker(worker.pid)
        ) continue;
        try {
          Deno.kill(-worker.pid, "SIGKILL");
          killed.push(worker.pid);
        } catch {
          // Gone meanwhile.
        }
      }
      return killed;
    },
    /** Asks the supervisor to stop its workers (or start them again); false when none runs. */
    async setPaused(paused: boolean): Promise<boolean> {
      if (await readRenderSupervisorPid(layout) === null) return false;
      await writePauseRequest(layout, paused);
      return true;
    },
  };
}

export type RenderWorkerControl = ReturnType<typeof createRenderWorkerControl>;
