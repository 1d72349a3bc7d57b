/**
 * The one HTTP path every provider adapter uses: a timeout per attempt (AbortSignal.timeout),
 * retries with backoff + full jitter that honour Retry-After, a zod check of every answer, and
 * every failure turned into a ProviderError naming provider, HTTP status and failure code.
 *
 * Paid submissions are not idempotent: a timeout or dropped connection after the request left
 * may still have started (and billed) the job, so those are never retried blindly — only failures
 * that prove the job did not start (429, 502/503/504 load shedding, or any retryable error answer
 * of a call marked `repeatErrorAnswers`) are. Nothing here logs: error
 * details carry the provider's message, never our headers or request body.
 */
import type { z } from "zod";
import { ProviderError } from "../provider-errors.ts";
import {
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  type RandomSource,
  realSleep,
  type RetryAdvice,
  retryDelayMs,
  type RetryPolicy,
} from "./retry-policy.ts";
import { classifyHttpFailure, describeBody, type FailureClass, type HttpFailure } from "./http-failure.ts";

export interface ProviderHttpOptions {
  provider: string;
  baseUrl: string;
  /** Authentication and version headers, sent on every request. */
  headers: Record<string, string>;
  fetch?: typeof fetch;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  sleep?: (ms: number) => Promise<void>;
  random?: RandomSource;
  /** The provider's own reading of an error answer; undefined falls back to the generic one. */
  classify?: (failure: HttpFailure) => FailureClass | undefined;
}

export interface ProviderRequest<T> {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  schema: z.ZodType<T>;
  timeoutMs?: number;
  /** Safe to repeat after an unknown outcome. Default: every method but POST. */
  idempotent?: boolean;
  /**
   * A POST whose retryable error answers (500, busy) prove nothing was made or billed (a
   * synchronous call answers with its result or not at all), so those may be repeated; a timeout
   * or dropped connection still is not: the call may have been made and billed.
   */
  repeatErrorAnswers?: boolean;
}

export interface ProviderResponse<T> {
  data: T;
  status: number;
  headers: Headers;
}

const LOAD_SHEDDING = new Set([429, 502, 503, 504]);

export function createProviderHttp(options: ProviderHttpOptions) {
  const { provider } = options;
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const doFetch = options.fetch ?? globalThis.fetch;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const baseUrl = options.baseUrl.replace(/\/+$/, "");

  async function attempt<T>(request: ProviderRequest<T>): Promise<ProviderResponse<T>> {
    const headers: Record<string, string> = {
      accept: "application/json",
      ...options.headers,
      ...request.headers,
    };
    if (request.body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    let text: string;
    try {
      response = await doFetch(`${baseUrl}${request.path}`, {
        method: request.method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: AbortSignal.timeout(request.timeoutMs ?? options.timeoutMs ?? 30_000),
        redirect: "error",
      });
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof Error &&
        (error.name === "TimeoutError" || error.name === "AbortError");
      throw new AttemptError(
        new ProviderError(
          { provider, failureCode: timedOut ? "timeout" : "network_error", retryable: true },
          `${request.method} ${request.path}: ${
            timedOut ? "no answer in time" : "could not reach the provider"
          }`,
          { cause: error },
        ),
        { kind: "transport" },
      );
    }
    const body = parseBody(text);
    if (!response.ok) {
      const failure: HttpFailure = {
        status: response.status,
        body,
        headers: response.headers,
        method: request.method,
        path: request.path,
      };
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
      const found = options.classify?.(failure) ?? classifyHttpFailure(failure);
      const advice: RetryAdvice = { retryAfterMs, ...found.advice };
      throw new AttemptError(
        new ProviderError({
          provider,
          httpStatus: response.status,
          failureCode: found.failureCode,
          retryable: found.retryable,
          retryAfterMs: advice.retryAfterMs,
        }, found.message ?? describeBody(body)),
        { kind: "http", status: response.status, advice },
      );
    }
    const parsed = request.schema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ProviderError(
        { provider, httpStatus: response.status, failureCode: "invalid_response", retryable: false },
        `${request.method} ${request.path} answered an unexpected shape (${
          issue?.path.join(".") || "body"
        }: ${issue?.message})`,
      );
    }
    return { data: parsed.data, status: response.status, headers: response.headers };
  }

  return {
    provider,
    async request<T>(request: ProviderRequest<T>): Promise<ProviderResponse<T>> {
      const idempotent = request.idempotent ?? request.method !== "POST";
      for (let failures = 1;; failures++) {
        try {
          return await attempt(request);
        } catch (error) {
          if (!(error instanceof AttemptError)) throw error;
          const { cause, how } = error;
          const mayRepeat = idempotent ||
            (how.kind === "http" && (LOAD_SHEDDING.has(how.status) || request.repeatErrorAnswers === true));
          if (!cause.retryable || !mayRepeat) {
            if (!mayRepeat && cause.retryable && how.kind === "transport") {
              // The job may have started: a task retry would pay twice, so it is not retryable either.
              throw new ProviderError(
                { provider, failureCode: "submit_outcome_unknown", retryable: false },
                cause.message,
                { cause: cause.cause },
              );
            }
            throw cause;
          }
          const advice = how.kind === "http" ? how.advice : {};
          if (failures >= policy.maxAttempts || (advice.retryAfterMs ?? 0) > policy.maxRetryAfterMs) {
            throw cause;
          }
          await sleep(retryDelayMs(failures, advice, policy, random));
        }
      }
    },
  };
}

export type ProviderHttp = ReturnType<typeof createProviderHttp>;

type AttemptHow = { kind: "transport" } | { kind: "http"; status: number; advice: RetryAdvice };

class AttemptError extends Error {
  constructor(override readonly cause: ProviderError, readonly how: AttemptHow) {
    super(cause.message);
  }
}

function parseBody(text: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
