/**
 * What a task's owner reads about a real network failure (connection refused on 127.0.0.1): the
 * sockets make these tools-tier tests; the rest of task-error's cases are pure (tests/unit).
 */
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { classifyTaskError, internalErrorMessage } from "../../shared/engine/task-error.ts";
import { createProviderHttp } from "../../shared/providers/http/provider-fetch.ts";
import { ProviderError } from "../../shared/providers/provider-errors.ts";

const taskId = "0b7d1c9e-1111-4222-8333-444455556666";

/** A port nothing listens on: one the OS just handed out and we closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A real network failure from fetch: connection refused. */
async function fetchFailure() {
  return await fetch(`http://127.0.0.1:${await closedPort()}/internal-host`).then(
    () => null,
    (error) => error,
  );
}

describe("what a task's owner reads about a network failure", () => {
  it("turns a raw fetch network error into internal_error, with its cause in the log", async () => {
    const failure = await fetchFailure();
    expect(failure).toBeInstanceOf(TypeError);
    const { error, internal } = classifyTaskError(failure, taskId);
    expect(error).toEqual({ code: "internal_error", message: internalErrorMessage(taskId), retryable: true });
    expect(JSON.stringify(error)).not.toContain("127.0.0.1");
    expect(JSON.stringify(internal)).toContain("ECONNREFUSED");
  });

  it("tells a provider's network failure in its own words and keeps the transport text for the log", async () => {
    const http = createProviderHttp({
      provider: "runway",
      baseUrl: `http://127.0.0.1:${await closedPort()}`,
      headers: {},
      retry: { maxAttempts: 1 },
      sleep: async () => {},
    });
    const failure = await http.request({ method: "GET", path: "/v1/tasks/x", schema: z.unknown() }).catch((
      error,
    ) => error);
    expect(failure).toBeInstanceOf(ProviderError);
    const { error, internal } = classifyTaskError(failure, taskId);
    expect(error).toMatchObject({
      code: "provider_error",
      failureCode: "network_error",
      message: "runway network_error: GET /v1/tasks/x: could not reach the provider",
    });
    expect(JSON.stringify(error)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|fetch failed/);
    expect(JSON.stringify(internal)).toContain("ECONNREFUSED");
  });
});
