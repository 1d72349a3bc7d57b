import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createSliceBudget } from "../../shared/engine/slice-budget.ts";

describe("slice budget", () => {
  it("measures time left from the worker's start, not the request's", () => {
    let now = 100_000;
    const fresh = createSliceBudget({ workerStartedAt: 100_000, wallClockMs: 150_000, now: () => now });
    const late = createSliceBudget({ workerStartedAt: 100_000 - 120_000, wallClockMs: 150_000, now: () => now });
    expect(fresh.remainingMs()).toBeGreaterThan(100_000);
    expect(late.remainingMs()).toBeLessThan(20_000);
    expect(late.remainingMs()).toBeGreaterThan(0);
  });

  it("is exhausted once its deadline passes and never goes negative", () => {
    let now = 0;
    const budget = createSliceBudget({ workerStartedAt: 0, wallClockMs: 10_000, now: () => now });
    expect(budget.exhausted()).toBe(false);
    now = 9_999;
    expect(budget.exhausted()).toBe(true);
    expect(budget.remainingMs()).toBe(0);
  });

  it("leaves a reserve before the wall clock even when the worker is almost dead", () => {
    const budget = createSliceBudget({ workerStartedAt: 0, wallClockMs: 10_000, now: () => 9_500 });
    expect(budget.exhausted()).toBe(true);
  });

  it("knows how long until the wall-clock kill, separately from the slice's share", () => {
    let now = 4_000;
    const budget = createSliceBudget({ workerStartedAt: 0, wallClockMs: 10_000, now: () => now });
    expect(budget.untilKillMs()).toBe(6_000);
    expect(budget.remainingMs()).toBeLessThan(budget.untilKillMs());
    now = 12_000;
    expect(budget.untilKillMs()).toBe(0);
  });
});

describe("slice budget on edge-runtime, where performance.timeOrigin is not set", () => {
  const timeOrigin = Object.getOwnPropertyDescriptor(Performance.prototype, "timeOrigin")!;
  beforeEach(() => {
    vi.resetModules();
    Object.defineProperty(Performance.prototype, "timeOrigin", { configurable: true, get: () => undefined });
  });
  afterEach(() => {
    Object.defineProperty(Performance.prototype, "timeOrigin", timeOrigin);
  });

  it("never yields when built from timeOrigin (the bug the module-load clock fixes)", () => {
    const budget = createSliceBudget({ workerStartedAt: performance.timeOrigin, wallClockMs: 150_000, now: () => Date.now() + 10 * 60_000 });
    expect(performance.timeOrigin).toBeUndefined();
    expect(budget.remainingMs()).toBeNaN();
    expect(budget.exhausted()).toBe(false);
  });

  it("is finite and yields before the wall clock when built from the module-load clock", async () => {
    const { workerStartedAt } = await import("../../shared/runtime/worker-clock.ts");
    expect(Number.isFinite(workerStartedAt)).toBe(true);
    let now = workerStartedAt + 200;
    const budget = createSliceBudget({ workerStartedAt, wallClockMs: 150_000, now: () => now });
    expect(budget.remainingMs()).toBeGreaterThan(100_000);
    expect(budget.exhausted()).toBe(false);
    now = workerStartedAt + 145_000;
    expect(budget.exhausted()).toBe(true);
    expect(budget.untilKillMs()).toBe(5_000);
  });

});
