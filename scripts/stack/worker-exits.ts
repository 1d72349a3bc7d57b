/**
 * Why workers ended, kept for the admin API (`GET /_stack/workers`), so tests and operators can
 * tell a limit from a crash. Reasons mirror edge-runtime's shutdown reasons (WallClockTime,
 * CPUTime, Memory, EarlyDrop) split by what caused them.
 */

export type ExitReason =
  /** The worker's wall clock ran out (killed). */
  | "wall_clock"
  /** Retired at the soft CPU limit; exited once its requests and background work were done. */
  | "cpu_soft"
  /** Killed at the hard CPU limit. */
  | "cpu_hard"
  /** Killed at the memory limit (sampled RSS, or V8's heap limit). */
  | "memory"
  /** Retired after leaving a request unanswered for the request idle timeout (504). */
  | "idle"
  /** Exited by itself, or failed to boot. */
  | "crash"
  /** Killed through the admin API or at gateway shutdown. */
  | "killed";

export interface WorkerExit {
  function: string;
  pid: number;
  startedAt: string;
  exitedAt: string;
  reason: ExitReason;
  /** CPU spent serving (boot excluded), in ms, as last sampled. */
  cpuMs: number;
  peakRssMb: number;
}

/** The most recent exits, newest last; older ones fall off past `capacity`. */
export function createExitLog(capacity = 200) {
  const exits: WorkerExit[] = [];
  return {
    record(exit: WorkerExit): void {
      exits.push(exit);
      if (exits.length > capacity) exits.splice(0, exits.length - capacity);
    },
    list: (): WorkerExit[] => [...exits],
  };
}
