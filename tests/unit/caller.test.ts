import { describe, expect, it } from "vitest";
import { callerFromAuthorization, secretsEqual } from "../../shared/auth/caller.ts";
import { UnauthorizedError } from "../../shared/errors.ts";
import { signJwt } from "../../scripts/stack/jwt.ts";

const secret = "test-secret-with-at-least-32-characters!!";
const userId = "3f0c2a9e-6a57-4d0a-9a47-2f4b9f2c1d11";

describe("caller from Authorization", () => {
  it("reads the signed-in user's id from a user token", async () => {
    const token = await signJwt({ sub: userId, role: "authenticated" }, secret);
    expect(callerFromAuthorization(`Bearer ${token}`)).toEqual({ userId, role: "authenticated", isAnonymous: false, isServiceRole: false, isOperator: false });
  });

  it("refuses a missing header, a non-JWT and an API key token", async () => {
    const anon = await signJwt({ role: "anon" }, secret);
    for (const header of [undefined, "", "Basic abc", "Bearer not-a-jwt", `Bearer ${anon}`]) {
      expect(() => callerFromAuthorization(header)).toThrow(UnauthorizedError);
    }
  });
});

describe("secretsEqual", () => {
  it("matches only the exact secret", () => {
    expect(secretsEqual("abc", "abc")).toBe(true);
    expect(secretsEqual("abd", "abc")).toBe(false);
    expect(secretsEqual("abcd", "abc")).toBe(false);
    expect(secretsEqual(undefined, "abc")).toBe(false);
  });
});
