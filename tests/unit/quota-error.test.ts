import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { QuotaExceededError } from "../../shared/errors.ts";
import { respondWithError } from "../../shared/http/error-handler.ts";
import { quotaErrorFrom } from "../../shared/usage/usage-admission.ts";

function appThrowing(error: unknown) {
  const app = new Hono();
  app.onError(respondWithError);
  app.get("/", () => {
    throw error;
  });
  return app;
}

describe("quota_exceeded", () => {
  it("answers 429 naming the limit, its use and maximum, when it frees up, with Retry-After", async () => {
    const resetsAt = new Date(Date.now() + 3600_000).toISOString();
    const response = await appThrowing(
      new QuotaExceededError("You started 20 films in the last 24 hours", {
        limit: "filmsPerDay",
        used: 20,
        max: 20,
        resetsAt,
      }),
    ).request("/");
    expect(response.status).toBe(429);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(3500);
    expect(Number(response.headers.get("retry-after"))).toBeLessThanOrEqual(3600);
    const { error } = await response.json();
    expect(error).toMatchObject({
      code: "quota_exceeded",
      message: "You started 20 films in the last 24 hours",
      limit: "filmsPerDay",
      used: 20,
      max: 20,
      resetsAt,
    });
  });

  it("sends no Retry-After when freeing up depends on the user (a film in production ending)", async () => {
    const response = await appThrowing(
      new QuotaExceededError("2 films in production", {
        limit: "filmsInProduction",
        used: 2,
        max: 2,
        resetsAt: null,
      }),
    ).request("/");
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBeNull();
    expect((await response.json()).error).toMatchObject({
      limit: "filmsInProduction",
      resetsAt: null,
      retryAfterSeconds: null,
    });
  });

  it("reads the SQL refusal's detail, and leaves other errors alone", () => {
    const sqlError = Object.assign(new Error("over"), {
      code: "RF009",
      detail: JSON.stringify({
        limit: "costUnitsPerDay",
        used: 3000.5,
        max: 3000,
        resetsAt: "2026-12-04T05:00:00+00:00",
      }),
    });
    const mapped = quotaErrorFrom(sqlError) as QuotaExceededError;
    expect(mapped).toBeInstanceOf(QuotaExceededError);
    expect(mapped.quota).toEqual({
      limit: "costUnitsPerDay",
      used: 3000.5,
      max: 3000,
      resetsAt: "2026-12-04T05:00:00.000Z",
    });
    const other = Object.assign(new Error("boom"), { code: "23505" });
    expect(quotaErrorFrom(other)).toBe(other);
  });
});
