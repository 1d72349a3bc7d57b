/**
 * Runs a list of work items on a few lanes (database sessions) at once, in the list's order as far
 * as the items allow: an item starts on a free lane once every earlier item it waits for has
 * finished. Used by data (tables), post_data (index and key builds) and verify (table hashes).
 */

export interface LaneOptions<T> {
  /** How many items may be in flight at once (lanes are numbered 0..lanes-1). */
  lanes: number;
  /** Whether `later` must wait until `earlier` (before it in the list) has finished. */
  waitsFor?: (later: T, earlier: T) => boolean;
  /** Asked before each start: true starts nothing more (the items in flight still finish). */
  shouldStop: () => boolean;
  run: (item: T, lane: number) => Promise<void>;
  /** Called after each item finished, one call at a time, in the order they finish. */
  finished: (item: T, index: number) => Promise<void>;
}

/**
 * True when every item finished, false when `shouldStop` ended it first. An item that fails
 * stops new starts; once the others in flight have settled, its error is thrown.
 */
export async function runInLanes<T>(items: T[], options: LaneOptions<T>): Promise<boolean> {
  const waitsFor = options.waitsFor ?? (() => false);
  const started = items.map(() => false);
  const done = items.map(() => false);
  const freeLanes = Array.from({ length: Math.max(1, options.lanes) }, (_, lane) => lane);
  type Outcome = { index: number; lane: number; failed: boolean; error?: unknown };
  const inFlight = new Map<number, Promise<Outcome>>();
  let failure: { error: unknown } | null = null;
  let stopped = false;

  const startable = (i: number) =>
    !started[i] && items.slice(0, i).every((earlier, j) => done[j] || !waitsFor(items[i], earlier));

  for (;;) {
    while (!failure && !stopped && freeLanes.length > 0) {
      const next = items.findIndex((_, i) => startable(i));
      if (next < 0) break;
      if (options.shouldStop()) {
        stopped = true;
        break;
      }
      const lane = freeLanes.shift()!;
      started[next] = true;
      inFlight.set(
        next,
        options.run(items[next], lane).then(
          () => ({ index: next, lane, failed: false }),
          (error) => ({ index: next, lane, failed: true, error }),
        ),
      );
    }
    if (inFlight.size === 0) break;
    const outcome = await Promise.race(inFlight.values());
    inFlight.delete(outcome.index);
    freeLanes.push(outcome.lane);
    if (outcome.failed) {
      failure ??= { error: outcome.error };
      continue;
    }
    done[outcome.index] = true;
    // Recorded even after another item failed: its work is done and must not be asked for again.
    try {
      await options.finished(items[outcome.index], outcome.index);
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
  return done.every(Boolean);
}
