import { describe, expect, it } from "vitest";
import {
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  retryDelayMs,
} from "../../../shared/providers/http/retry-policy.ts";

describe("retry policy", () => {
  const now = Date.parse("2026-11-21T12:00:00Z");

  it("reads Retry-After as seconds or as an HTTP date, and ignores what it cannot read", () => {
    expect(parseRetryAfter("3", now)).toBe(3000);
    expect(parseRetryAfter("1.5", now)).toBe(1500);
    expect(parseRetryAfter("Sat, 21 Nov 2026 12:00:10 GMT", now)).toBe(10_000);
    expect(parseRetryAfter("Sat, 21 Nov 2026 11:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it("draws full jitter under a doubling, capped ceiling", () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelayMs(attempt, {}, policy, () => 1))).toEqual([
      100,
      200,
      400,
      800,
      1000,
    ]);
    expect(retryDelayMs(3, {}, policy, () => 0.5)).toBe(200);
    expect(retryDelayMs(3, {}, policy, () => 0)).toBe(0);
  });

  it("lets Retry-After win over the backoff, and keeps a flat wait flat", () => {
    expect(retryDelayMs(4, { retryAfterMs: 2500 }, DEFAULT_RETRY_POLICY, () => 1)).toBe(2500);
    expect(retryDelayMs(4, { baseDelayMs: 300, flat: true }, DEFAULT_RETRY_POLICY, () => 1)).toBe(300);
  });
});
