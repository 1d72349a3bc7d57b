/** What an error answer means, before a provider adds its own codes (ElevenLabs' 429s, Runway's quota). */
import type { RetryAdvice } from "./retry-policy.ts";

export interface HttpFailure {
  status: number;
  /** The parsed JSON body, or its text when it was not JSON, or null when empty. */
  body: unknown;
  headers: Headers;
  method: string;
  path: string;
}

export interface FailureClass {
  failureCode: string;
  retryable: boolean;
  message?: string;
  advice?: RetryAdvice;
}

const CODES: Record<number, string> = {
  400: "invalid_request",
  401: "unauthorized",
  402: "payment_required",
  403: "forbidden",
  404: "not_found",
  408: "timeout",
  409: "conflict",
  413: "payload_too_large",
  422: "invalid_request",
  429: "rate_limited",
};

export function classifyHttpFailure(failure: HttpFailure): FailureClass {
  const { status } = failure;
  if (status >= 500) {
    return { failureCode: status === 503 || status === 502 ? "overloaded" : "server_error", retryable: true };
  }
  return { failureCode: CODES[status] ?? `http_${status}`, retryable: status === 429 || status === 408 };
}

/** A short human message out of an error body: `error`, `detail`, `message` (strings or objects with `message`). */
export function describeBody(body: unknown): string {
  const pick = (value: unknown): string | undefined => {
    if (typeof value === "string" && value.trim() !== "") return value;
    if (Array.isArray(value)) return pick(value[0]);
    if (value && typeof value === "object") {
      const record = value as Record<string, unknown>;
      return pick(record.message) ?? pick(record.error) ?? pick(record.detail) ?? pick(record.msg);
    }
    return undefined;
  };
  const text = pick(body) ?? (body === null ? "empty answer" : JSON.stringify(body));
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
