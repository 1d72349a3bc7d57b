/**
 * What the admin API does to the supervised render workers (chaos and outage tests): list them,
 * SIGKILL them as an OOM or crash would, pause the supervisor (workers stopped, none restarted)
 * and resume it.
 */
import { readRenderSupervisorState, type RenderSupervisorState } from "./render-supervisor-state.ts";
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
        if (worker.pid === null || (slot !== undefined && worker.slot !== slot) || !await isRenderWorker(worker.pid)) continue;
        try {
          Deno.kill(-worker.pid, "SIGKILL");
          killed.push(worker.pid);
        } catch {
          // Gone meanwhile.
        }
      }
      return killed;
    },
    /** Signals the supervisor; false when none runs. */
    async setPaused(paused: boolean): Promise<boolean> {
      const pid = await readRenderSupervisorPid(layout);
      if (pid === null) return false;
      Deno.kill(pid, paused ? "SIGUSR1" : "SIGUSR2");
      return true;
    },
  };
}

export type RenderWorkerControl = ReturnType<typeof createRenderWorkerControl>;
