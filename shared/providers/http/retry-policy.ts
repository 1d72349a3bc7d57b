/**
 * When to try a provider call again and how long to wait: exponential backoff with full jitter
 * (AWS's "full jitter": a uniform wait in [0, base·2^attempt], capped), except that a provider's
 * Retry-After always wins. Retry-After longer than we may sleep inside a slice is not slept: the
 * error carries it so the task engine reschedules the task instead.
 */
export interface RetryPolicy {
  /** Total attempts, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After above this is handed to the task engine instead of slept. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  maxRetryAfterMs: 60_000,
};

/** How a failed attempt asks to be retried: the shape of the backoff, decided per failure. */
export interface RetryAdvice {
  /** The provider's Retry-After in ms, when it sent one. */
  retryAfterMs?: number;
  /** Overrides the policy's base delay (e.g. ElevenLabs' queue 429 waits briefly, system_busy long). */
  baseDelayMs?: number;
  /** A flat wait instead of a doubling one (a concurrency queue frees up without growing waits). */
  flat?: boolean;
}

export type RandomSource = () => number;

/** The wait before attempt `attempt + 1`, where `attempt` counts failures so far (1 = first failure). */
export function retryDelayMs(
  attempt: number,
  advice: RetryAdvice,
  policy: RetryPolicy,
  random: RandomSource,
): number {
  if (advice.retryAfterMs !== undefined) return advice.retryAfterMs;
  const base = advice.baseDelayMs ?? policy.baseDelayMs;
  const ceiling = Math.min(policy.maxDelayMs, advice.flat ? base : base * 2 ** (attempt - 1));
  return Math.round(random() * ceiling);
}

/** Retry-After as seconds or an HTTP date, in ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
