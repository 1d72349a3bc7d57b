/**
 * The render worker's restart policy (the local supervisor's backoff) and its health answer.
 */
import { describe, expect, it } from "vitest";
import { crashesAfterRun, restartDelayMs } from "../../scripts/stack/restart-backoff.ts";
import { CLAIM_STALE_MS, describeHealth } from "../../shared/worker/worker-health.ts";

describe("restart backoff", () => {
  it("doubles from half a second up to ten seconds for crashes in a row", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((n) => restartDelayMs(n))).toEqual([
      500,
      1000,
      2000,
      4000,
      8000,
      10_000,
      10_000,
      10_000,
    ]);
  });
  it("starts the series again after a healthy run", () => {
    expect(crashesAfterRun(5, 1_000)).toBe(6);
    expect(crashesAfterRun(5, 30_000)).toBe(1);
  });
});

describe("worker health", () => {
  const now = new Date("2026-12-03T06:00:00Z");
  const stats = (o: Partial<Parameters<typeof describeHealth>[0]> = {}) => ({
    workerId: "w1",
    kinds: ["render"],
    slots: 2,
    running: 0,
    lastPollAt: now,
    lastClaimAt: null,
    stopping: false,
    ...o,
  });
  it("is healthy while it polls for work or every slot is busy", () => {
    expect(describeHealth(stats(), now)).toMatchObject({
      status: 200,
      body: { claiming: true, inFlight: 0 },
    });
    const old = new Date(now.getTime() - CLAIM_STALE_MS - 1);
    expect(describeHealth(stats({ lastPollAt: old, running: 2 }), now).status).toBe(200);
  });
  it("is unhealthy when its claims stopped answering with a slot free, before its first poll, or while stopping", () => {
    const old = new Date(now.getTime() - CLAIM_STALE_MS - 1);
    expect(describeHealth(stats({ lastPollAt: old, running: 1 }), now)).toMatchObject({
      status: 503,
      body: { claiming: false },
    });
    expect(describeHealth(stats({ lastPollAt: null }), now).status).toBe(503);
    expect(describeHealth(stats({ stopping: true }), now).status).toBe(503);
  });
});
