/**
 * Forced worker kills at fixed moments of a running job. Each kill waits, if it must, until the
 * task has been claimed again since the previous one: a kill then always lands on a worker doing
 * the job's work (mid-chunk, mid-DDL, mid-verify), never on a gap where no worker holds it.
 */
import type { JobProgress } from "./clone-job.ts";
import type { StackAdmin } from "./stack-admin.ts";

export interface KillRecord {
  plannedMs: number;
  /** Ms after the start request the kill landed (later than planned when it waited for a claim). */
  atMs: number;
  pids: number[];
  /** The claim (fencing token) whose worker was killed. */
  claim: number;
  phase: string | null;
  rowsCopied: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Kills `fn`'s workers at each of `atMs` (from `startedAt`, a performance.now() value) until `stopped()`. */
export async function killOnSchedule(
  admin: StackAdmin,
  fn: string,
  options: { startedAt: number; atMs: number[]; progress: JobProgress; stopped: () => boolean },
): Promise<KillRecord[]> {
  const { progress } = options;
  const records: KillRecord[] = [];
  let lastKilledClaim = 0;
  for (const plannedMs of options.atMs) {
    for (;;) {
      if (options.stopped()) return records;
      const due = performance.now() - options.startedAt >= plannedMs;
      if (due && progress.status === "running" && progress.claims > lastKilledClaim) {
        const claim = progress.claims;
        const killed = await admin.kill(fn);
        // The claim's worker may have just ended its slice and retired; then wait for the next claim.
        if (killed.length > 0) {
          records.push({
            plannedMs,
            atMs: performance.now() - options.startedAt,
            pids: killed.map((worker) => worker.pid),
            claim,
            phase: progress.phase,
            rowsCopied: progress.rowsCopied,
          });
          lastKilledClaim = claim;
          break;
        }
      }
      await sleep(20);
    }
  }
  return records;
}
