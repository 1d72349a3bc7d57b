import { describe, expect, it } from "vitest";
import { createSlotBatches, gather } from "../../shared/worker/slot-batches.ts";
import type { TaskRow } from "../../shared/engine/task-row.ts";
import type { TaskStore } from "../../shared/engine/task-store.ts";
import { FencedOutError } from "../../shared/errors.ts";

/** A call that answers when told to: what the gatherer sent, in order. */
function controlledRun() {
  const calls: { items: number[]; answer: () => void; fail: (e: Error) => void }[] = [];
  const run = (items: number[]) =>
    new Promise<string[]>((resolve, reject) =>
      calls.push({ items, answer: () => resolve(items.map((n) => `done ${n}`)), fail: reject })
    );
  return { calls, run };
}

/** Lets the gatherer's bookkeeping after an answer run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("gather", () => {
  it("sends the first ask at once and what comes while it is in flight together in the next call", async () => {
    const { calls, run } = controlledRun();
    const ask = gather(run);
    const answers = [1, 2, 3].map((n) => ask(n));
    expect(calls.map((c) => c.items)).toEqual([[1]]);
    calls[0].answer();
    await answers[0];
    await settle();
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3]]);
    calls[1].answer();
    expect(await Promise.all(answers)).toEqual(["done 1", "done 2", "done 3"]);
  });

  it("gives every ask of a failed call its error, and goes on with the next", async () => {
    const { calls, run } = controlledRun();
    const ask = gather(run);
    const first = ask(1);
    const [second, third] = [ask(2), ask(3)];
    calls[0].answer();
    await first;
    await settle();
    calls[1].fail(new Error("connection lost"));
    await expect(second).rejects.toThrow("connection lost");
    await expect(third).rejects.toThrow("connection lost");
    await settle();
    const fourth = ask(4);
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3], [4]]);
    calls[2].answer();
    expect(await fourth).toBe("done 4");
  });
});

const task = (id: string) => ({ id, fencingToken: "1" }) as TaskRow;

describe("a worker's gathered ends", () => {
  function store(o: { completeMany: TaskStore["completeMany"]; complete?: TaskStore["complete"] }) {
    const single: string[] = [];
    const s = {
      claimMany: () => Promise.resolve([]),
      completeMany: o.completeMany,
      complete: o.complete ?? ((t: TaskRow) => (single.push(t.id), Promise.resolve())),
    } as unknown as TaskStore;
    return { s, single };
  }

  it("tells an end fenced out apart from one written", async () => {
    const { s } = store({ completeMany: (ends) => Promise.resolve(ends.map((e) => e.task.id !== "b")) });
    const batches = createSlotBatches(s, { kinds: ["k"], workerId: "w", leaseSeconds: 30 });
    const [a, b] = await Promise.all([batches.end(task("a"), 1), batches.end(task("b"), 2)]);
    expect(a).toEqual({ ended: true });
    expect(b.ended).toBe(false);
    expect(!b.ended && b.error).toBeInstanceOf(FencedOutError);
  });

  it("ends each task on its own when the gathered call fails, so one bad end loses no other", async () => {
    let gathered = 0;
    const { s, single } = store({
      completeMany: (
        ends,
      ) => (gathered++,
        ends.length > 1 ? Promise.reject(new Error("trigger said no")) : Promise.resolve([true])),
      complete: (t: TaskRow) => (t.id === "c" ? Promise.reject(new Error("c is broken")) : Promise.resolve()),
    });
    const batches = createSlotBatches(s, { kinds: ["k"], workerId: "w", leaseSeconds: 30 });
    const outcomes = await Promise.all(["a", "b", "c"].map((id) => batches.end(task(id), null)));
    expect(gathered).toBe(2); // "a" alone, then "b" and "c" together
    expect(outcomes.map((o) => o.ended)).toEqual([true, true, false]);
    expect(!outcomes[2].ended && outcomes[2].error.message).toBe("c is broken");
    expect(single).toEqual([]);
  });
});
