/**
 * How provider failures look to tasks. A task error names the provider, the HTTP status and the
 * provider's failure code; it is never a 5xx from a function.
 */
import { BadRequestError, type ClassifiedFailure } from "../errors.ts";

export interface ProviderErrorFields {
  provider: string;
  /** The provider's HTTP status, when the failure came with one. */
  httpStatus?: number;
  /** The provider's own code (Runway failureCode, ElevenLabs detail.status, ...) or ours. */
  failureCode: string;
  /** Worth another attempt later (5xx, timeouts, busy); false for refusals and bad input. */
  retryable: boolean;
  /** The provider's Retry-After, in ms, when it sent one. */
  retryAfterMs?: number;
}

export class ProviderError extends Error implements ClassifiedFailure {
  readonly provider: string;
  readonly httpStatus?: number;
  readonly failureCode: string;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;

  /**
   * `detail` is read by the task's owner: the provider's own words or ours, never raw transport
   * text — that goes in `options.cause`, which only the function log sees.
   */
  constructor(fields: ProviderErrorFields, detail: string, options?: { cause?: unknown }) {
    const status = fields.httpStatus ? ` HTTP ${fields.httpStatus}` : "";
    super(`${fields.provider}${status} ${fields.failureCode}: ${detail}`, options);
    this.name = "ProviderError";
    this.provider = fields.provider;
    this.httpStatus = fields.httpStatus;
    this.failureCode = fields.failureCode;
    this.retryable = fields.retryable;
    this.retryAfterMs = fields.retryAfterMs;
  }

  /** What a task keeps in last_error / a scene's error_message. */
  toJSON(): Record<string, unknown> {
    return {
      provider: this.provider,
      httpStatus: this.httpStatus ?? null,
      failureCode: this.failureCode,
      retryable: this.retryable,
      message: this.message,
    };
  }

  /** How the engine records it (ClassifiedFailure): code provider_error, then toJSON's fields. */
  failureRecord(): { code: string } & Record<string, unknown> {
    return { code: "provider_error", ...this.toJSON() };
  }
}

/** A request the model cannot take (wrong ratio, duration, prompt too long): caught before any call. */
export class ProviderInputError extends BadRequestError {
  constructor(provider: string, model: string, message: string) {
    super("invalid_provider_request", `${provider} ${model}: ${message}`);
  }
}
