/** What every HTTP provider adapter takes, so tests can point it at a fake and control time. */
import type { RandomSource, RetryPolicy } from "./http/retry-policy.ts";

export interface AdapterOptions {
  apiKey: string;
  model: string;
  /** The provider's API root; tests pass a fake's URL. */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** Per HTTP attempt. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  sleep?: (ms: number) => Promise<void>;
  random?: RandomSource;
  /** Accept http:// media and output URLs (local fakes only; production requires https). */
  allowInsecureUrls?: boolean;
}

/** The HTTP options an adapter passes through unchanged to createProviderHttp. */
export function httpOptions(options: Omit<AdapterOptions, "apiKey" | "model">) {
  return {
    fetch: options.fetch,
    timeoutMs: options.timeoutMs,
    retry: options.retry,
    sleep: options.sleep,
    random: options.random,
  };
}
