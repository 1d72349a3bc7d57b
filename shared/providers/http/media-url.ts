/**
 * Rules for the URLs that cross a provider boundary. Output URLs must be real (not
 * "null", "undefined" or empty) and https; inputs we hand to a provider (Runway's promptImage,
 * sync.so's video and audio) must answer a HEAD quickly, without redirects, with the right media
 * type — checked before a paid submission. Plain http is allowed only with `allowInsecureUrls`
 * (tests against local fakes).
 */
import { ProviderError, ProviderInputError } from "../provider-errors.ts";
import type { JobState, UrlOutput } from "../types.ts";

export type MediaKind = "image" | "video" | "audio";

const PLACEHOLDERS = new Set(["", "null", "undefined"]);

export function isAllowedUrl(value: string, allowInsecureUrls = false): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || (allowInsecureUrls && url.protocol === "http:");
  } catch {
    return false;
  }
}

/** The provider's output URL, or a ProviderError when it is missing, a placeholder or not http(s). */
export function requireOutputUrl(provider: string, value: unknown, allowInsecureUrls = false): string {
  const text = typeof value === "string" ? value.trim() : "";
  if (PLACEHOLDERS.has(text)) {
    throw new ProviderError(
      { provider, failureCode: "missing_output", retryable: false },
      `job succeeded without an output URL (got ${JSON.stringify(value ?? null)})`,
    );
  }
  if (!isAllowedUrl(text, allowInsecureUrls)) {
    throw new ProviderError(
      { provider, failureCode: "invalid_output_url", retryable: false },
      `output URL is not https: ${text.slice(0, 120)}`,
    );
  }
  return text;
}

/** A finished job's state from its output URL: succeeded, or failed when the URL is missing or unusable. */
export function outputUrlState(
  provider: string,
  value: unknown,
  contentType: string | undefined,
  allowInsecureUrls = false,
): JobState<UrlOutput> {
  try {
    return {
      state: "succeeded",
      output: {
        url: requireOutputUrl(provider, value, allowInsecureUrls),
        ...(contentType ? { contentType } : {}),
      },
    };
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    return { state: "failed", failureCode: error.failureCode, message: error.message };
  }
}

export interface MediaCheck {
  provider: string;
  model: string;
  url: string;
  kind: MediaKind;
  timeoutMs?: number;
  maxBytes?: number;
  fetch?: typeof fetch;
  allowInsecureUrls?: boolean;
}

/** HEAD the input: unreachable or slow is a retryable ProviderError, wrong type or size a ProviderInputError. */
export async function checkMediaUrl(
  check: MediaCheck,
): Promise<{ contentType: string; size: number | null }> {
  const { provider, model, url, kind } = check;
  if (!isAllowedUrl(url, check.allowInsecureUrls)) {
    throw new ProviderInputError(provider, model, `${kind} URL must be https: ${url.slice(0, 120)}`);
  }
  let response: Response;
  try {
    response = await (check.fetch ?? globalThis.fetch)(url, {
      method: "HEAD",
      redirect: "manual",
      signal: AbortSignal.timeout(check.timeoutMs ?? 5_000),
    });
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    throw new ProviderError(
      { provider, failureCode: timedOut ? "input_url_timeout" : "input_url_unreachable", retryable: true },
      `HEAD ${kind} URL: ${timedOut ? "no answer in time" : "could not reach it"}`,
      { cause: error },
    );
  }
  await response.body?.cancel();
  if (response.status >= 300 && response.status < 400) {
    throw new ProviderInputError(
      provider,
      model,
      `${kind} URL redirects (HTTP ${response.status}); give the final URL`,
    );
  }
  if (response.status >= 500) {
    throw new ProviderError({
      provider,
      httpStatus: response.status,
      failureCode: "input_url_unreachable",
      retryable: true,
    }, `HEAD ${kind} URL answered ${response.status}`);
  }
  if (!response.ok) {
    throw new ProviderInputError(provider, model, `${kind} URL answered HTTP ${response.status}`);
  }
  const contentType = response.headers.get("content-type")?.split(";")[0].trim().toLowerCase() ?? "";
  if (!contentType.startsWith(`${kind}/`)) {
    throw new ProviderInputError(
      provider,
      model,
      `${kind} URL serves ${contentType || "no content type"}, not ${kind}/*`,
    );
  }
  const length = response.headers.get("content-length");
  const size = length === null ? null : Number(length);
  if (size !== null && check.maxBytes !== undefined && size > check.maxBytes) {
    throw new ProviderInputError(
      provider,
      model,
      `${kind} is ${size} bytes, over the ${check.maxBytes}-byte limit`,
    );
  }
  return { contentType, size };
}
