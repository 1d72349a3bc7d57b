import { describe, expect, it } from "vitest";
import { changeLimits, DEFAULT_LIMITS, limitsFromEnv } from "../../scripts/stack/platform-limits.ts";

describe("platform limits", () => {
  it("default to Supabase's published values and edge-runtime's build defaults", () => {
    expect(limitsFromEnv({})).toEqual({
      wallClockMs: 150_000,
      requestIdleTimeoutMs: 150_000,
      cpuSoftLimitMs: 1_000,
      cpuHardLimitMs: 2_000,
      memoryLimitMb: 256,
      maxBodyBytes: 20 * 1024 * 1024,
      storageFileSizeLimitBytes: 50 * 1024 * 1024,
    });
  });

  it("take a plan's values from env at stack start, and refuse nonsense there", () => {
    expect(limitsFromEnv({ REELFORGE_WALL_CLOCK_MS: "400000", REELFORGE_CPU_HARD_LIMIT_MS: "3000" }))
      .toMatchObject({ wallClockMs: 400_000, cpuHardLimitMs: 3_000, cpuSoftLimitMs: 1_000 });
    expect(() => limitsFromEnv({ REELFORGE_MEMORY_LIMIT_MB: "lots" })).toThrow(/REELFORGE_MEMORY_LIMIT_MB/);
    expect(() => limitsFromEnv({ REELFORGE_CPU_SOFT_LIMIT_MS: "5000" })).toThrow(/cpuSoftLimitMs/);
  });

  it("change only what the admin API names, and refuse a change that makes no sense", () => {
    expect(changeLimits(DEFAULT_LIMITS, { memoryLimitMb: 128, env: {} })).toEqual({
      ...DEFAULT_LIMITS,
      memoryLimitMb: 128,
    });
    expect(changeLimits(DEFAULT_LIMITS, { maxBodyBytes: 0 })).toBe("maxBodyBytes must be a positive integer");
    expect(changeLimits(DEFAULT_LIMITS, { wallClockMs: 1.5 })).toBe("wallClockMs must be a positive integer");
    expect(changeLimits(DEFAULT_LIMITS, { cpuSoftLimitMs: 2_500 })).toBe(
      "cpuSoftLimitMs must not exceed cpuHardLimitMs",
    );
  });
});
