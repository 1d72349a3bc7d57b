import postgres from "postgres";
import { describe, expect, it } from "vitest";
import {
  classifyTaskError,
  connectFailureReason,
  internalErrorMessage,
} from "../../shared/engine/task-error.ts";
import { BadRequestError, PermanentTaskError, RetryableTaskError } from "../../shared/errors.ts";
import { ProviderError } from "../../shared/providers/provider-errors.ts";
import { describeJobFailure } from "../../shared/worker/job-failure.ts";
import { MediaCommandError } from "../../shared/media/ffmpeg-process.ts";

const taskId = "0b7d1c9e-1111-4222-8333-444455556666";

/** A real postgres.js error, as the driver builds it from a server's ErrorResponse. */
function driverError() {
  return new postgres.PostgresError({
    message: 'relation "public.secret_plans" does not exist',
    severity: "ERROR",
    code: "42P01",
    position: "15",
    file: "parse_relation.c",
    line: "1392",
    routine: "parserOpenTable",
    query: "select * from public.secret_plans where owner = $1",
  } as never);
}

describe("what a task's owner reads about a failure", () => {
  it("turns a driver error into internal_error naming the task, and keeps its SQL text for the log", () => {
    const { error, internal, permanent } = classifyTaskError(driverError(), taskId);
    expect(error).toEqual({ code: "internal_error", message: internalErrorMessage(taskId), retryable: true });
    expect(error.message).toContain(taskId);
    expect(JSON.stringify(error)).not.toMatch(/secret_plans|42P01|select/);
    expect(permanent).toBe(false);
    expect(internal).toMatchObject({
      name: "PostgresError",
      code: "42P01",
      message: expect.stringContaining("secret_plans"),
      routine: "parserOpenTable",
    });
    expect(JSON.stringify(internal)).not.toContain("$1"); // never the query or its parameters
  });

  it("turns a TypeError from our own code into internal_error; its stack goes to the log only", () => {
    let thrown: unknown;
    try {
      (null as unknown as { film: string }).film.trim();
    } catch (error) {
      thrown = error;
    }
    const { error, internal } = classifyTaskError(thrown, taskId);
    expect(error.code).toBe("internal_error");
    expect(JSON.stringify(error)).not.toMatch(/TypeError|null|at /);
    expect(internal).toMatchObject({
      name: "TypeError",
      stack: expect.stringContaining("task-error.test.ts"),
    });
  });

  it("keeps the message and code of errors raised on purpose", () => {
    expect(classifyTaskError(new BadRequestError("bad_timeline", "no clips"), taskId))
      .toEqual({
        permanent: true,
        error: { code: "bad_timeline", message: "no clips", retryable: false },
        internal: null,
      });
    expect(classifyTaskError(new PermanentTaskError("target_is_source", "same db"), taskId))
      .toMatchObject({
        permanent: true,
        error: { code: "target_is_source", message: "same db", retryable: false },
      });
    // Raised for another error: that one's words go to the log only.
    const cause = Object.assign(new Error("violates check constraint"), { code: "23514" });
    const refused = Object.assign(new PermanentTaskError("rows_refused", "copying public.a failed"), {
      cause,
    });
    expect(classifyTaskError(refused, taskId)).toMatchObject({
      error: { code: "rows_refused", message: "copying public.a failed", retryable: false },
      internal: expect.objectContaining({ message: "violates check constraint" }),
    });
    expect(classifyTaskError(new RetryableTaskError("task_error", "planned failure 2"), taskId))
      .toEqual({
        permanent: false,
        error: { code: "task_error", message: "planned failure 2", retryable: true },
        internal: null,
      });
  });

  it("names the provider, its HTTP status and failure code, and stops retrying a refusal", () => {
    const refused = new ProviderError({
      provider: "runway",
      httpStatus: 400,
      failureCode: "SAFETY.INPUT.TEXT",
      retryable: false,
    }, "prompt refused");
    expect(classifyTaskError(refused, taskId)).toEqual({
      permanent: true,
      error: {
        code: "provider_error",
        provider: "runway",
        httpStatus: 400,
        failureCode: "SAFETY.INPUT.TEXT",
        retryable: false,
        message: "runway HTTP 400 SAFETY.INPUT.TEXT: prompt refused",
      },
      internal: null,
    });
    const busy = new ProviderError({
      provider: "elevenlabs",
      httpStatus: 429,
      failureCode: "system_busy",
      retryable: true,
    }, "busy");
    expect(classifyTaskError(busy, taskId)).toMatchObject({
      permanent: false,
      error: { code: "provider_error", failureCode: "system_busy" },
    });
  });

  it("describes a failed render job without FFmpeg's stderr", () => {
    const failure = describeJobFailure(
      new MediaCommandError("ffmpeg", 1, "/var/worker/tmp/x.mp4: Invalid data found"),
      taskId,
    );
    expect(failure).toMatchObject({
      code: "ffmpeg_failed",
      retryable: true,
      message: `ffmpeg exited with 1; its output was logged as ${taskId}`,
    });
    expect(failure.internal).toMatchObject({ message: expect.stringContaining("/var/worker/tmp") });
    expect(describeJobFailure(driverError(), taskId)).toMatchObject({
      code: "internal_error",
      message: internalErrorMessage(taskId),
    });
  });

  it("names a connection failure by its driver code only", () => {
    expect(
      connectFailureReason(
        Object.assign(new Error('password authentication failed for user "admin"'), { code: "28P01" }),
      ),
    ).toBe("authentication failed");
    expect(connectFailureReason(new Error("getaddrinfo ENOTFOUND db.internal"))).toBe("connection failed");
  });
});
