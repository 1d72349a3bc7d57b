/**
 * The CPU a job's function workers spent: the gateway meters each worker (GET /_stack/workers,
 * `cpuMs`: user + system time of the thread that runs its JavaScript, which is what the
 * platform's CPU limit counts — V8's helper threads are not — sampled every 50 ms, boot
 * excluded) and keeps
 * the last figure of each worker that exited. Summed over the function's workers started since the
 * run began (the benchmark starts every run on a fresh worker), so it is the job's CPU alone.
 */
import type { StackAdmin } from "./stack-admin.ts";

export interface WorkerCpu {
  /** Sum over the workers, in seconds. */
  seconds: number;
  workers: number;
  measured: string;
}

const MEASURED =
  "sum of GET /_stack/workers cpuMs (JavaScript thread, as the platform limit counts; live, else the exit's " +
  "last sample) over the function's workers started during the run; a killed worker loses up to 50 ms unsampled";

export async function workerCpuSince(admin: StackAdmin, fn: string, sinceIso: string): Promise<WorkerCpu> {
  const { live, exits } = await admin.workersAndExits();
  const byPid = new Map<number, number>();
  // A worker in both lists (the exit recorded as it was read) counts once, with its exit figure.
  for (const worker of [...live, ...exits]) {
    if (worker.function !== fn || worker.startedAt < sinceIso) continue;
    byPid.set(worker.pid, worker.cpuMs ?? 0);
  }
  const ms = [...byPid.values()].reduce((a, b) => a + b, 0);
  return { seconds: Math.round(ms) / 1000, workers: byPid.size, measured: MEASURED };
}
