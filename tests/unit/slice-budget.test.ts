import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createSliceBudget } from "../../shared/engine/slice-budget.ts";

describe("slice budget", () => {
  it("measures time left from the worker's start, not the request's", () => {
    const now = 100_000;
    const fresh = createSliceBudget({ workerStartedAt: 100_000, wallClockMs: 150_000, now: () => now });
    const late = createSliceBudget({
      workerStartedAt: 100_000 - 120_000,
      wallClockMs: 150_000,
      now: () => now,
    });
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

describe("slice budget with a CPU clock", () => {
  it("is exhausted once the slice has spent its CPU share, however much wall time is left", () => {
    let cpu = 5_000;
    const budget = createSliceBudget({
      workerStartedAt: 0,
      wallClockMs: 150_000,
      now: () => 1_000,
      cpu: { clock: () => cpu, sliceLimitMs: 500 },
    });
    expect(budget.cpuLimitMs).toBe(500);
    expect(budget.exhausted()).toBe(false);
    cpu = 5_300;
    expect(budget.cpuSpentMs()).toBe(300);
    expect(budget.cpuRemainingMs()).toBe(200);
    expect(budget.exhausted()).toBe(false);
    cpu = 5_500;
    expect(budget.cpuRemainingMs()).toBe(0);
    expect(budget.exhausted()).toBe(true);
    expect(budget.remainingMs()).toBeGreaterThan(100_000);
  });

  it("falls back to wall time alone when the runtime has no CPU measure", () => {
    const budget = createSliceBudget({
      workerStartedAt: 0,
      wallClockMs: 150_000,
      now: () => 1_000,
      cpu: { clock: () => null, sliceLimitMs: 500 },
    });
    expect(budget.cpuLimitMs).toBe(Infinity);
    expect(budget.cpuSpentMs()).toBeNull();
    expect(budget.cpuRemainingMs()).toBe(Infinity);
    expect(budget.exhausted()).toBe(false);
  });
});

describe("a slice's CPU share", () => {
  it("is half the gap between the soft and hard limits, so two slices in flight at retirement fit", async () => {
    const { sliceCpuBudgetMs, processCpuClock } = await import("../../shared/runtime/cpu-clock.ts");
    expect(sliceCpuBudgetMs(1_000, 2_000)).toBe(500);
    expect(sliceCpuBudgetMs(2_000, 2_000)).toBe(50);
    const clock = processCpuClock();
    const before = clock()!;
    const until = Date.now() + 50;
    while (Date.now() < until) Math.sqrt(Math.random());
    expect(clock()!).toBeGreaterThan(before);
  });
});

describe("the CPU clock on edge-runtime, whose process.cpuUsage() is a stub", () => {
  it("reads no measure, asking once, so the budget falls back to wall time instead of never spending", async () => {
    const { processCpuClock } = await import("../../shared/runtime/cpu-clock.ts");
    // edge-runtime's stub: a "Not implemented" warning and zeros on every call.
    let calls = 0;
    const clock = processCpuClock(() => {
      calls++;
      return { user: 0, system: 0 };
    });
    expect(clock()).toBeNull();
    expect(clock()).toBeNull();
    expect(calls).toBe(1);
    const budget = createSliceBudget({
      workerStartedAt: 0,
      wallClockMs: 10_000,
      now: () => 0,
      cpu: { clock, sliceLimitMs: 500 },
    });
    expect(budget.cpuSpentMs()).toBeNull();
    expect(budget.cpuLimitMs).toBe(Infinity);
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
    const budget = createSliceBudget({
      workerStartedAt: performance.timeOrigin,
      wallClockMs: 150_000,
      now: () => Date.now() + 10 * 60_000,
    });
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
