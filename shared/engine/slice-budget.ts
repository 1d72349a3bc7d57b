/**
 * How long a slice may keep working. The platform's wall clock is per worker, and one worker may
 * serve several requests, so time left is measured from the worker's start, not the request's.
 */
export interface SliceBudget {
  /** Milliseconds this slice may still spend before it must checkpoint and hand off. */
  remainingMs(): number;
  exhausted(): boolean;
  /** Milliseconds until the platform kills this worker (its wall clock), reserve not deducted. */
  untilKillMs(): number;
}

export interface SliceBudgetOptions {
  workerStartedAt: number;
  wallClockMs: number;
  now?: () => number;
  /** Share of the worker's remaining time a slice takes; the rest absorbs the hand-off. */
  fraction?: number;
  /** Kept free at the end of the worker's life whatever the fraction says. */
  reserveMs?: number;
}

export function createSliceBudget(options: SliceBudgetOptions): SliceBudget {
  const now = options.now ?? Date.now;
  const fraction = options.fraction ?? 0.75;
  const reserveMs = options.reserveMs ?? Math.min(5_000, options.wallClockMs * 0.1);
  const startedAt = now();
  const workerLeft = options.wallClockMs - (startedAt - options.workerStartedAt) - reserveMs;
  const deadline = startedAt + Math.max(0, workerLeft * fraction);
  return {
    remainingMs: () => Math.max(0, deadline - now()),
    exhausted: () => now() >= deadline,
    untilKillMs: () => Math.max(0, options.workerStartedAt + options.wallClockMs - now()),
  };
}
