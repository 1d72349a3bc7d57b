/**
 * How long a slice may keep working. The platform's wall clock is per worker, and one worker may
 * serve several requests, so time left is measured from the worker's start, not the request's.
 * The platform also limits CPU per worker: a slice is exhausted, too, once it has spent its share
 * of CPU (cpu-clock.ts says how large that share is and why).
 */
export interface SliceBudget {
  /** Milliseconds this slice may still spend before it must checkpoint and hand off. */
  remainingMs(): number;
  exhausted(): boolean;
  /** Milliseconds until the platform kills this worker (its wall clock), reserve not deducted. */
  untilKillMs(): number;
  /** CPU this slice may still spend, in ms; Infinity when there is no CPU measure. */
  cpuRemainingMs(): number;
  /** CPU this worker spent since the slice began, in ms; null when there is no CPU measure. */
  cpuSpentMs(): number | null;
  /** The slice's whole CPU share, in ms; Infinity when there is no CPU measure. */
  readonly cpuLimitMs: number;
  /**
   * Which budget is spent: the first one `exhausted()` found spent (kept, so CPU spent on the
   * hand-off itself does not relabel a slice the wall clock ended), else whichever is spent now;
   * null while both last.
   */
  spentBy(): "wall" | "cpu" | null;
}

export interface SliceBudgetOptions {
  workerStartedAt: number;
  wallClockMs: number;
  now?: () => number;
  /** Share of the worker's remaining time a slice takes; the rest absorbs the hand-off. */
  fraction?: number;
  /** Kept free at the end of the worker's life whatever the fraction says. */
  reserveMs?: number;
  /** The worker's CPU clock and the slice's CPU share; without them only wall time counts. */
  cpu?: { clock: () => number | null; sliceLimitMs: number };
}

export function createSliceBudget(options: SliceBudgetOptions): SliceBudget {
  const now = options.now ?? Date.now;
  const fraction = options.fraction ?? 0.75;
  const reserveMs = options.reserveMs ?? Math.min(5_000, options.wallClockMs * 0.1);
  const startedAt = now();
  const workerLeft = options.wallClockMs - (startedAt - options.workerStartedAt) - reserveMs;
  const deadline = startedAt + Math.max(0, workerLeft * fraction);
  const cpuStart = options.cpu?.clock() ?? null;
  const cpuLimitMs = cpuStart === null ? Infinity : options.cpu!.sliceLimitMs;
  const cpuSpentMs = () => {
    const used = cpuStart === null ? null : options.cpu!.clock();
    return used === null ? null : used - cpuStart!;
  };
  const cpuRemainingMs = () => {
    const spent = cpuSpentMs();
    return spent === null ? Infinity : Math.max(0, cpuLimitMs - spent);
  };
  const spentNow = (): "wall" | "cpu" | null =>
    cpuRemainingMs() <= 0 ? "cpu" : now() >= deadline ? "wall" : null;
  let firstSpent: "wall" | "cpu" | null = null;
  return {
    remainingMs: () => Math.max(0, deadline - now()),
    exhausted: () => {
      firstSpent ??= spentNow();
      return spentNow() !== null;
    },
    spentBy: () => firstSpent ?? spentNow(),
    untilKillMs: () => Math.max(0, options.workerStartedAt + options.wallClockMs - now()),
    cpuRemainingMs,
    cpuSpentMs,
    cpuLimitMs,
  };
}
