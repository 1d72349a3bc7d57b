import { describe, expect, it } from "vitest";
import { describeFailure } from "../../shared/engine/slice-runner.ts";
import { BadRequestError, PermanentTaskError } from "../../shared/errors.ts";
import { ProviderError } from "../../shared/providers/provider-errors.ts";

describe("what a failed slice records", () => {
  it("names the provider, its HTTP status and failure code, and stops retrying a refusal", () => {
    const refused = new ProviderError({ provider: "runway", httpStatus: 400, failureCode: "SAFETY.INPUT.TEXT", retryable: false }, "prompt refused");

    expect(describeFailure(refused)).toEqual({
      permanent: true,
      error: {
        code: "provider_error",
        provider: "runway",
        httpStatus: 400,
        failureCode: "SAFETY.INPUT.TEXT",
        retryable: false,
        message: "runway HTTP 400 SAFETY.INPUT.TEXT: prompt refused",
      },
    });
  });

  it("retries a provider failure the provider says may pass", () => {
    const busy = new ProviderError({ provider: "elevenlabs", httpStatus: 429, failureCode: "system_busy", retryable: true }, "busy");
    expect(describeFailure(busy)).toMatchObject({ permanent: false, error: { code: "provider_error", failureCode: "system_busy" } });
  });

  it("treats bad input and permanent task errors as final, anything else as worth a retry", () => {
    expect(describeFailure(new BadRequestError("bad_timeline", "no clips"))).toEqual({ permanent: true, error: { code: "bad_timeline", message: "no clips" } });
    expect(describeFailure(new PermanentTaskError("target_is_source", "same db"))).toMatchObject({ permanent: true, error: { code: "target_is_source" } });
    expect(describeFailure(new Error("socket hang up"))).toEqual({ permanent: false, error: { code: "task_error", message: "socket hang up" } });
  });
});
