import { describe, expect, it } from "vitest";
import { createSliceBudget } from "../../shared/engine/slice-budget.ts";
import { sliceEndReason } from "../../shared/engine/slice-end.ts";

/** A budget of 500 ms CPU inside a 150 s worker, with both clocks under the test's hand. */
function budgetWithClocks() {
  const clocks = { now: 1_000, cpu: 0 };
  const budget = createSliceBudget({
    workerStartedAt: 0,
    wallClockMs: 150_000,
    now: () => clocks.now,
    cpu: { clock: () => clocks.cpu, sliceLimitMs: 500 },
  });
  return { clocks, budget };
}

describe("why a slice ended", () => {
  it("is the CPU budget when the CPU share ran out first, even if the wall clock runs out later", () => {
    const { clocks, budget } = budgetWithClocks();
    clocks.cpu = 500;
    expect(budget.exhausted()).toBe(true);
    clocks.now = 200_000; // the hand-off itself took long: still a CPU slice
    expect(budget.spentBy()).toBe("cpu");
    expect(sliceEndReason({ result: "handed_off", budget, via: "continue" })).toBe("cpu_budget");
  });

  it("is the wall budget when the slice's time ran out first, even if CPU runs out later", () => {
    const { clocks, budget } = budgetWithClocks();
    clocks.now = 140_000;
    expect(budget.exhausted()).toBe(true);
    clocks.cpu = 900;
    expect(budget.spentBy()).toBe("wall");
    expect(sliceEndReason({ result: "handed_off", budget, via: "continue" })).toBe("wall_budget");
  });

  it("is the handler's own choice when it hands off with both budgets left", () => {
    const { budget } = budgetWithClocks();
    expect(budget.spentBy()).toBeNull();
    expect(sliceEndReason({ result: "handed_off", budget, via: "continue" })).toBe("yielded");
  });

  it("is the wall budget for a provider poll that yields, and for a slice too late to start", () => {
    const { budget } = budgetWithClocks();
    expect(sliceEndReason({ result: "handed_off", budget, via: "yield" })).toBe("wall_budget");
    expect(sliceEndReason({ result: "deferred", budget, via: "yield" })).toBe("wall_budget");
    expect(sliceEndReason({ result: "deferred", budget, tooLateToStart: true })).toBe("wall_budget");
  });

  it("follows the outcome otherwise", () => {
    const { budget } = budgetWithClocks();
    expect(sliceEndReason({ result: "done", budget })).toBe("finished");
    expect(sliceEndReason({ result: "waiting", budget })).toBe("waiting");
    expect(sliceEndReason({ result: "handed_off", budget, via: "wait" })).toBe("waiting");
    expect(sliceEndReason({ result: "retry_scheduled", budget })).toBe("failed");
    expect(sliceEndReason({ result: "failed" })).toBe("failed");
    expect(sliceEndReason({ result: "fenced_out", budget })).toBe("fenced_out");
    expect(sliceEndReason({ result: "not_claimed" })).toBeNull();
  });
});
