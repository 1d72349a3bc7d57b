/**
 * The CPU this worker has spent, for slice budgets: the platform limits CPU per worker isolate
 * (edge-runtime retires it at a soft limit and kills it at a hard one), so work that relays or
 * computes a lot must stop by CPU as well as by wall time.
 */
import process from "node:process";

/** Reads this process's CPU time in ms (user + system, every thread), or null without a measure. */
export type CpuClock = () => number | null;

/**
 * `process.cpuUsage()` from node:process, which Deno implements (getrusage of the process). It
 * counts every thread, V8's GC and compiler helpers included, so it reads at or above what the
 * platform's per-thread CPU timer charges: budgets built on it stop early, never late. A runtime
 * without it (or one that throws) gives null, and budgets fall back to wall time alone.
 * edge-runtime, which runs the hosted functions, stubs it: every call logs "Not implemented" and
 * answers {user: 0, system: 0}. Read as a clock, that was a CPU budget never spent, and a warning
 * on every budget check (hosted keeps 100 log events per 10 s). A process that got this far has
 * spent CPU, so a reading of 0 means no measure: null from then on, without asking again.
 */
export function processCpuClock(
  read: () => { user: number; system: number } | undefined = () => process.cpuUsage?.(),
): CpuClock {
  let stubbed = false;
  return () => {
    if (stubbed) return null;
    try {
      const usage = read();
      if (!usage || !Number.isFinite(usage.user) || !Number.isFinite(usage.system)) return null;
      const ms = (usage.user + usage.system) / 1000;
      if (ms === 0) stubbed = true;
      return stubbed ? null : ms;
    } catch {
      return null;
    }
  };
}

/**
 * How much CPU one slice may spend: half the gap between the soft and hard limits. The worker
 * retires at the soft limit with a slice still in flight, and that slice (and one running beside
 * it) must end before the hard limit kills them both: 2 x (hard - soft) / 2 fits in the gap.
 */
export function sliceCpuBudgetMs(cpuSoftLimitMs: number, cpuHardLimitMs: number): number {
  return Math.max(50, Math.floor((cpuHardLimitMs - cpuSoftLimitMs) / 2));
}
