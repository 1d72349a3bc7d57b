/**
 * When to restart a crashed process: the delay doubles with each crash in a row (0.5 s, 1 s, 2 s,
 * ... up to 10 s), so a worker that dies at boot (bad config, no database) does not spin, and a
 * worker that ran healthily for a while before it died starts again from the shortest delay.
 */
export interface RestartBackoffOptions {
  initialMs?: number;
  maxMs?: number;
  /** A run at least this long counts as healthy: the next crash starts the series again. */
  healthyAfterMs?: number;
}

/** The delay before the next start, given how many crashes came in a row (1 = the first). */
export function restartDelayMs(crashesInARow: number, o: RestartBackoffOptions = {}): number {
  const initial = o.initialMs ?? 500;
  const max = o.maxMs ?? 10_000;
  return Math.min(max, initial * 2 ** Math.max(0, crashesInARow - 1));
}

/** Crashes in a row after a run of `ranMs` that ended in a crash. */
export function crashesAfterRun(
  previousInARow: number,
  ranMs: number,
  o: RestartBackoffOptions = {},
): number {
  return ranMs >= (o.healthyAfterMs ?? 30_000) ? 1 : previousInARow + 1;
}
