/**
 * A worker's calls to the engine, gathered across its slots. A slot that finishes a job hands its
 * end to one gatherer and asks another for its next task, without waiting for the end to be
 * written: the two travel at the same time, so a slot's turn-around is one claim, not an end and
 * a claim. Each gatherer has one call in flight; what slots ask meanwhile goes in its next call,
 * one statement and one commit for them all (engine.complete_tasks, engine.claim_tasks). A lone
 * slot is never made to wait for company, and under load the engine's cost per task falls: in
 * the engine benchmark's probes, more calls in flight at 16 slots (2, 4, 8 per gatherer) each
 * drained fewer tasks per second than one, since every call pays a round trip, a commit and the
 * wake-up of a database backend whatever it carries.
 */
import type { TaskRow } from "../engine/task-row.ts";
import type { TaskStore } from "../engine/task-store.ts";
import { FencedOutError } from "../errors.ts";

/** How an end came out: written, fenced out (someone else holds the task now), or not written. */
export type EndOutcome = { ended: true } | { ended: false; error: Error };

/**
 * Calls `run` with what was asked, one call at a time; what is asked while a call is in flight
 * goes together in the next. `run` answers each item, in order; when it throws, every item of
 * that call gets the error.
 */
export function gather<In, Out>(run: (items: In[]) => Promise<Out[]>): (item: In) => Promise<Out> {
  const waiting: { item: In; resolve: (out: Out) => void; reject: (error: unknown) => void }[] = [];
  let inFlight = false;
  const send = () => {
    if (inFlight || waiting.length === 0) return;
    const batch = waiting.splice(0);
    inFlight = true;
    run(batch.map((w) => w.item))
      .then((outs) => batch.forEach((w, i) => w.resolve(outs[i])), (e) => batch.forEach((w) => w.reject(e)))
      .finally(() => {
        inFlight = false;
        send();
      });
  };
  return (item) =>
    new Promise<Out>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      send();
    });
}

export interface SlotBatches {
  /** The next due task of the worker's kinds for one slot; null when none is. */
  claim(): Promise<TaskRow | null>;
  /** Ends a job that succeeded; never throws: a failure to write the end is its outcome. */
  end(task: TaskRow, result: unknown): Promise<EndOutcome>;
}

export function createSlotBatches(
  store: TaskStore,
  o: { kinds: string[]; workerId: string; leaseSeconds: number },
): SlotBatches {
  const claim = gather<void, TaskRow | null>(async (asks) => {
    const claimed = await store.claimMany(o.kinds, o.workerId, o.leaseSeconds, asks.length);
    return asks.map((_, i) => claimed[i] ?? null);
  });
  const end = gather<{ task: TaskRow; result: unknown }, EndOutcome>(async (ends) => {
    try {
      const ended = await store.completeMany(ends);
      return ended.map((ok, i) =>
        ok ? { ended: true } : { ended: false, error: new FencedOutError(ends[i].task.id) }
      );
    } catch (error) {
      if (ends.length === 1) return [{ ended: false, error: asError(error) }];
      // One end's error undid them all: each on its own, so the others are not lost with it.
      return await Promise.all(ends.map(async ({ task, result }): Promise<EndOutcome> => {
        try {
          await store.complete(task, result);
          return { ended: true };
        } catch (error) {
          return { ended: false, error: asError(error) };
        }
      }));
    }
  });
  return { claim: () => claim(), end: (task, result) => end({ task, result }) };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
