import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { isMissingUserViolation } from "../../shared/db/missing-user.ts";
import { respondWithError } from "../../shared/http/error-handler.ts";

const schema = readFileSync(join(import.meta.dirname!, "..", "..", "supabase", "schema.sql"), "utf8");
const foreignKeys = [...schema.matchAll(/ADD CONSTRAINT (\S+) FOREIGN KEY \([^)]*\) REFERENCES ([\w.]+)\(/g)]
  .map(([, name, referenced]) => ({ name, referenced }));

/** The fields postgres.js gives a violation, as Postgres reported it for a write by a deleted user. */
const violation = (code: string, constraint: string) => ({
  name: "PostgresError",
  code,
  constraint_name: constraint,
  message: `insert or update violates foreign key constraint "${constraint}"`,
});

describe("a write for a user auth.users does not hold", () => {
  it("is told apart by name from every other foreign key in the schema", () => {
    expect(foreignKeys.filter((fk) => fk.referenced === "auth.users").length).toBeGreaterThan(10);
    for (const { name, referenced } of foreignKeys) {
      expect(isMissingUserViolation(violation("23503", name)), `${name} → ${referenced}`).toBe(
        referenced === "auth.users",
      );
    }
  });

  it("is only a foreign-key violation, not another error on the same constraint or a thrown value", () => {
    expect(isMissingUserViolation(violation("23503", "usage_events_user_id_fkey"))).toBe(true);
    expect(isMissingUserViolation(violation("23505", "usage_events_user_id_fkey"))).toBe(false);
    expect(isMissingUserViolation(violation("23503", "scene_audio_scene_id_fkey"))).toBe(false);
    expect(isMissingUserViolation({ code: "23503" })).toBe(false);
    expect(isMissingUserViolation(null)).toBe(false);
    expect(isMissingUserViolation("23503")).toBe(false);
  });

  it("is answered 401 user_not_found, and any other foreign-key violation stays a 500", async () => {
    const app = new Hono().onError(respondWithError);
    app.get("/user", () => {
      throw Object.assign(new Error("fk"), violation("23503", "api_providers_user_id_fkey"));
    });
    app.get("/movie", () => {
      throw Object.assign(new Error("fk"), violation("23503", "movie_scenes_movie_id_fkey"));
    });
    const user = await app.request("/user");
    expect(user.status).toBe(401);
    expect((await user.json()).error).toMatchObject({
      code: "user_not_found",
      message: expect.stringMatching(/account no longer exists.*sign in again/),
    });
    const errorLog = console.error;
    console.error = () => {};
    try {
      const movie = await app.request("/movie");
      expect(movie.status).toBe(500);
      expect((await movie.json()).error.code).toBe("internal_error");
    } finally {
      console.error = errorLog;
    }
  });
});
