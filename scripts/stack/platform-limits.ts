/**
 * The hosted platform's per-worker limits the local gateway enforces, with Supabase's published
 * values as defaults (https://supabase.com/docs/guides/functions/limits and the values edge-runtime
 * bakes in at build time, `.cargo/config.toml`: CPU soft 1000 ms, hard 2000 ms, memory 256 MB).
 * Each can be set at stack start (env) and changed while the stack runs (POST /_stack/config).
 */

export interface PlatformLimits {
  /** A worker's whole life (Free plan 150 s, paid 400 s). */
  wallClockMs: number;
  /** A request whose worker sends no response for this long is answered 504. */
  requestIdleTimeoutMs: number;
  /** CPU a worker may spend before it is retired: it finishes what it has, takes nothing new. */
  cpuSoftLimitMs: number;
  /** CPU at which a worker is killed; its requests get 546 WORKER_LIMIT. */
  cpuHardLimitMs: number;
  /** Memory at which a worker is killed (546). */
  memoryLimitMb: number;
  /** Largest request body the gateway forwards (413 above it). */
  maxBodyBytes: number;
  /** Storage's project-wide upload limit; a bucket's file_size_limit can only lower it. */
  storageFileSizeLimitBytes: number;
}

export const DEFAULT_LIMITS: PlatformLimits = {
  wallClockMs: 150_000,
  requestIdleTimeoutMs: 150_000,
  cpuSoftLimitMs: 1_000,
  cpuHardLimitMs: 2_000,
  memoryLimitMb: 256,
  // Hosted documents no body limit (a docs PR adding one was reverted as inaccurate,
  // supabase/supabase#30132); the body lives in the worker's 256 MB, so the stack caps it at 20 MiB.
  maxBodyBytes: 20 * 1024 * 1024,
  // The Free plan's global file size limit (https://supabase.com/docs/guides/storage/uploads/file-limits).
  storageFileSizeLimitBytes: 50 * 1024 * 1024,
};

const ENV_NAMES: Record<keyof PlatformLimits, string> = {
  wallClockMs: "REELFORGE_WALL_CLOCK_MS",
  requestIdleTimeoutMs: "REELFORGE_REQUEST_IDLE_TIMEOUT_MS",
  cpuSoftLimitMs: "REELFORGE_CPU_SOFT_LIMIT_MS",
  cpuHardLimitMs: "REELFORGE_CPU_HARD_LIMIT_MS",
  memoryLimitMb: "REELFORGE_MEMORY_LIMIT_MB",
  maxBodyBytes: "REELFORGE_MAX_BODY_BYTES",
  storageFileSizeLimitBytes: "REELFORGE_STORAGE_FILE_SIZE_LIMIT",
};

export const LIMIT_NAMES = Object.keys(ENV_NAMES) as (keyof PlatformLimits)[];

/** The limits in force at stack start: defaults, overridden by REELFORGE_* env (see ENV_NAMES). */
export function limitsFromEnv(env: Record<string, string | undefined>): PlatformLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const name of LIMIT_NAMES) {
    const text = env[ENV_NAMES[name]];
    if (text === undefined || text === "") continue;
    const value = Number(text);
    if (!Number.isInteger(value) || value <= 0) {
      throw new Error(`${ENV_NAMES[name]} must be a positive integer, got "${text}"`);
    }
    limits[name] = value;
  }
  const problem = inconsistency(limits);
  if (problem) throw new Error(problem);
  return limits;
}

/**
 * Applies a partial change from the admin API. Returns the new limits, or an error message for a
 * value that is not a positive integer or a soft CPU limit above the hard one.
 */
export function changeLimits(
  current: PlatformLimits,
  change: Record<string, unknown>,
): PlatformLimits | string {
  const next = { ...current };
  for (const name of LIMIT_NAMES) {
    const value = change[name];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || (value as number) <= 0) return `${name} must be a positive integer`;
    next[name] = value as number;
  }
  return inconsistency(next) ?? next;
}

function inconsistency(limits: PlatformLimits): string | null {
  return limits.cpuSoftLimitMs > limits.cpuHardLimitMs
    ? "cpuSoftLimitMs must not exceed cpuHardLimitMs"
    : null;
}
