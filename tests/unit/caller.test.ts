import { describe, expect, it } from "vitest";
import { InvalidApiKeyError, InvalidTokenError, OperatorOnlyError } from "../../shared/auth/auth-errors.ts";
import { createAuthenticator } from "../../shared/auth/authenticate.ts";
import { admitCaller } from "../../shared/auth/caller-admission.ts";
import { secretsEqual, SERVICE_ROLE_USER_ID } from "../../shared/auth/caller.ts";
import { UnauthorizedError } from "../../shared/errors.ts";

const userId = "3f0c2a9e-6a57-4d0a-9a47-2f4b9f2c1d11";
const verified: string[] = [];
const authenticate = createAuthenticator({
  // Stands in for verify-jwt.ts (tested on its own): "user-token" is a user, anything else forged.
  verifyJwt: async (token) => {
    verified.push(token);
    if (token === "user-token") {
      return { sub: userId, role: "authenticated", app_metadata: { reelforge_role: "operator" } };
    }
    throw new InvalidTokenError("bad signature");
  },
  apiKeys: {
    serviceRoleKeys: ["legacy-service-jwt", "sb_secret_abcdefabcdefabcdef"],
    anonKeys: ["legacy-anon-jwt", "sb_publishable_abcdefabcdef"],
  },
});

describe("authenticate", () => {
  it("reads the bearer first and the apikey header only without one", async () => {
    expect(await authenticate({ authorization: "Bearer user-token", apikey: "sb_publishable_abcdefabcdef" }))
      .toMatchObject({ kind: "user" });
    expect(
      await authenticate({
        authorization: "Bearer sb_publishable_abcdefabcdef",
        apikey: "sb_secret_abcdefabcdefabcdef",
      }),
    ).toEqual({ kind: "anon" });
    expect(await authenticate({ apikey: "sb_secret_abcdefabcdefabcdef" })).toEqual({ kind: "service_role" });
    expect(await authenticate({ authorization: "Bearer legacy-service-jwt" })).toEqual({
      kind: "service_role",
    });
    expect(await authenticate({})).toBeNull();
  });

  it("never verifies a new-style key as a JWT and refuses an unknown one", async () => {
    verified.length = 0;
    await expect(authenticate({ authorization: "Bearer sb_secret_wrongwrongwrongwrong" })).rejects
      .toBeInstanceOf(InvalidApiKeyError);
    await expect(authenticate({ apikey: "sb_secret_wrongwrongwrongwrong" })).rejects.toBeInstanceOf(
      InvalidApiKeyError,
    );
    await expect(authenticate({ authorization: "Basic abc" })).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(authenticate({ authorization: "Bearer forged" })).rejects.toBeInstanceOf(InvalidTokenError);
    expect(verified).toEqual(["forged"]);
  });
});

describe("admitCaller", () => {
  const user = { kind: "user" as const, claims: { sub: userId, role: "authenticated", app_metadata: {} } };

  it("gives ordinary functions the verified user and refuses API keys and missing credentials with 401", () => {
    expect(admitCaller(user, "users", "f")).toEqual({
      userId,
      role: "authenticated",
      isAnonymous: false,
      isServiceRole: false,
      isOperator: false,
    });
    for (const principal of [null, { kind: "anon" as const }, { kind: "service_role" as const }]) {
      expect(() => admitCaller(principal, "users", "f")).toThrow(UnauthorizedError);
    }
  });

  it("gives operator functions the service role as the nil user, operators as themselves, and refuses the rest", () => {
    expect(admitCaller({ kind: "service_role" }, "operators", "f")).toEqual({
      userId: SERVICE_ROLE_USER_ID,
      role: "service_role",
      isAnonymous: false,
      isServiceRole: true,
      isOperator: true,
    });
    const operator = {
      kind: "user" as const,
      claims: { ...user.claims, app_metadata: { reelforge_role: "operator" } },
    };
    expect(admitCaller(operator, "operators", "f")).toMatchObject({
      userId,
      isOperator: true,
      isServiceRole: false,
    });
    expect(() => admitCaller(user, "operators", "f")).toThrow(OperatorOnlyError);
    expect(() => admitCaller({ kind: "anon" }, "operators", "f")).toThrow(OperatorOnlyError);
    expect(() => admitCaller(null, "operators", "f")).toThrow(UnauthorizedError);
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
