/**
 * Callers are verified in the function, not only at the gateway: on the real stack, with the
 * gateway's verify_jwt off for every function (config.toml), forged tokens are answered 401 by the
 * functions themselves; anonymous users read their own things but may not spend; bodies over
 * 256 KiB are 413; clone-database lets in operators and the service role only.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { base64UrlEncode } from "../../shared/auth/base64url.ts";
import { parseTomlTables } from "../../scripts/stack/config-toml.ts";
import {
  generateSigningKey,
  publicJwkOf,
  signEs256Jwt,
  type SigningKey,
  signJwt,
} from "../../scripts/stack/jwt.ts";
import {
  authRequest,
  connect,
  createAnonymousUser,
  createOperatorUser,
  createUser,
  invoke,
  type Sql,
  stackDir,
  stackEnv,
  type TestUser,
} from "../support/stack.ts";

const env = stackEnv();
const FUNCTIONS = [
  "produce-movie",
  "generate-scene-video",
  "generate-audio",
  "assemble",
  "regenerate-asset",
  "clone-database",
  "providers",
];
/** A harmless read per function, so the only thing that can refuse it is the caller check. */
const readOf = (fn: string) =>
  fn === "providers"
    ? { action: "list" }
    : fn === "clone-database"
    ? { action: "status", jobId: crypto.randomUUID() }
    : { action: "status", taskId: crypto.randomUUID() };

let sql: Sql;
let user: TestUser;
let anonymous: TestUser;
let stackKey: SigningKey;

/** Everything a refused call could have created (for the users of this file). */
async function fingerprint(userIds: string[]) {
  const [row] = await sql`
    select (select count(*) from public.background_tasks where user_id = any(${userIds}::uuid[]))::int as tasks,
           (select count(*) from public.movies where user_id = any(${userIds}::uuid[]))::int as movies,
           (select count(*) from public.api_providers where user_id = any(${userIds}::uuid[]))::int as providers,
           (select count(*) from public.asset_runs where user_id = any(${userIds}::uuid[]))::int as runs`;
  return row;
}

beforeAll(async () => {
  sql = connect();
  [user, anonymous] = await Promise.all([createUser(), createAnonymousUser()]);
  // The stack's real signing key (test-only access), to sign tokens that are valid but for one claim.
  stackKey = JSON.parse(readFileSync(join(stackDir, "secrets.json"), "utf8")).JWT_SIGNING_KEY;
});
afterAll(() => sql.end());

describe("the stack's Auth", () => {
  it("issues ES256 access tokens naming a key its JWKS publishes, with GoTrue's claims", async () => {
    const jwks = await (await fetch(`${env.API_URL}/auth/v1/.well-known/jwks.json`)).json();
    const [header, payload] = user.token.split(".").slice(0, 2).map((part) =>
      JSON.parse(Buffer.from(part, "base64url").toString())
    );
    expect(header).toMatchObject({ alg: "ES256", typ: "JWT" });
    expect(jwks.keys.map((key: { kid: string }) => key.kid)).toContain(header.kid);
    expect(jwks.keys.every((key: Record<string, unknown>) => key.d === undefined)).toBe(true);
    expect(payload).toMatchObject({
      sub: user.id,
      role: "authenticated",
      aud: "authenticated",
      iss: `${env.API_URL}/auth/v1`,
      is_anonymous: false,
    });
    expect(typeof payload.session_id).toBe("string");
    expect(JSON.parse(Buffer.from(anonymous.token.split(".")[1], "base64url").toString()).is_anonymous).toBe(
      true,
    );
  });

  it("signs in with a password, refuses a wrong one, and rotates refresh tokens (each works once)", async () => {
    const email = `pw-${crypto.randomUUID()}@test.local`;
    const signedUp = await authRequest("signup", { email, password: "correct horse" });
    await expect(authRequest("token?grant_type=password", { email, password: "wrong horse" })).rejects
      .toThrow(/400.*invalid_credentials/);
    const signedIn = await authRequest("token?grant_type=password", { email, password: "correct horse" });
    expect(signedIn.user.id).toBe(signedUp.user.id);
    const refreshed = await authRequest("token?grant_type=refresh_token", {
      refresh_token: signedIn.refresh_token,
    });
    expect(refreshed.user.id).toBe(signedUp.user.id);
    await expect(authRequest("token?grant_type=refresh_token", { refresh_token: signedIn.refresh_token }))
      .rejects.toThrow(/400/);
    expect((await invoke("providers", { action: "list" }, { token: refreshed.access_token })).status).toBe(
      200,
    );
  });

  it("keeps app_metadata to the service role: a user cannot make itself an operator", async () => {
    await expect(
      authRequest(`admin/users/${user.id}`, { app_metadata: { reelforge_role: "operator" } }, {
        method: "PUT",
        token: user.token,
      }),
    )
      .rejects.toThrow(/403/);
    const [row] = await sql`select raw_app_meta_data from auth.users where id = ${user.id}`;
    expect(row.raw_app_meta_data.reelforge_role).toBeUndefined();
  });
});

describe("forged tokens", () => {
  it("reach the functions: the gateway's verify_jwt is off for every function in config.toml", () => {
    const tables = parseTomlTables(
      readFileSync(join(import.meta.dirname!, "..", "..", "supabase", "config.toml"), "utf8"),
    );
    for (const fn of FUNCTIONS) expect(tables.get(`functions.${fn}`)?.verify_jwt).toBe(false);
  });

  it("are answered 401 invalid_token by every function, which runs nothing", async () => {
    const otherKey = await generateSigningKey();
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: `${env.API_URL}/auth/v1`,
      sub: user.id,
      role: "authenticated",
      aud: "authenticated",
      iat: now,
      exp: now + 600,
      app_metadata: { reelforge_role: "operator" },
    };
    const encode = (value: unknown) => base64UrlEncode(new TextEncoder().encode(JSON.stringify(value)));
    const forged: Record<string, string> = {
      "signed with another key under the stack's kid": await signEs256Jwt(claims, {
        ...otherKey,
        kid: stackKey.kid,
      }),
      "another project's key and issuer": await signEs256Jwt({
        ...claims,
        iss: "https://other-project.supabase.co/auth/v1",
      }, otherKey),
      "another project's issuer on the stack's key": await signEs256Jwt({
        ...claims,
        iss: "https://other-project.supabase.co/auth/v1",
      }, stackKey),
      "alg none": `${encode({ alg: "none", typ: "JWT" })}.${encode(claims)}.`,
      "HS256 signed with the public key": await signJwt(claims, JSON.stringify(publicJwkOf(stackKey))),
      "HS256 signed with another secret": await signJwt(
        claims,
        "another-legacy-secret-at-least-32-characters",
      ),
      "expired": await signEs256Jwt({ ...claims, iat: now - 7200, exp: now - 3600 }, stackKey),
      "wrong audience": await signEs256Jwt({ ...claims, aud: "someone-else" }, stackKey),
      "a payload changed after signing": `${user.token.split(".")[0]}.${
        encode({ ...claims, sub: user.id })
      }.${user.token.split(".")[2]}`,
    };
    const before = await fingerprint([user.id]);
    for (const fn of FUNCTIONS) {
      for (const [label, token] of Object.entries(forged)) {
        const response = await invoke(fn, readOf(fn), { token });
        expect({ fn, label, status: response.status, code: response.json?.error?.code }).toEqual({
          fn,
          label,
          status: 401,
          code: "invalid_token",
        });
      }
    }
    expect(await fingerprint([user.id])).toEqual(before);
  });

  it("take nothing from the new API keys: a wrong sb_secret_ key is 401 invalid_api_key", async () => {
    for (const fn of FUNCTIONS) {
      const response = await invoke(fn, readOf(fn), { headers: { apikey: `sb_secret_${"0".repeat(40)}` } });
      expect([fn, response.status, response.json?.error?.code]).toEqual([fn, 401, "invalid_api_key"]);
    }
  });
});

describe("anonymous users", () => {
  const spending: Array<[string, Record<string, unknown>]> = [
    ["produce-movie", {
      action: "start",
      title: "Free ride",
      prompt: "A film on someone else's bill",
      genre: "drama",
      durationMinutes: 1,
    }],
    ["produce-movie", { action: "resume", movieId: crypto.randomUUID() }],
    ["generate-scene-video", { action: "start", movieId: crypto.randomUUID(), sceneNumber: 1 }],
    ["generate-audio", { action: "start", movieId: crypto.randomUUID(), sceneNumber: 1 }],
    ["assemble", { action: "start", movieId: crypto.randomUUID() }],
    ["assemble", { action: "resume", taskId: crypto.randomUUID() }],
    ["regenerate-asset", {
      action: "start",
      target: { movieId: crypto.randomUUID() },
      kind: "script",
      draft: { prompt: "x" },
    }],
    ["providers", { action: "register", providerType: "llm", provider: "local", model: "local" }],
  ];

  it.each(spending)(
    "are refused %s %o with 403 anonymous_not_allowed, creating nothing",
    async (fn, body) => {
      const before = await fingerprint([anonymous.id]);
      const response = await invoke(fn, body, { token: anonymous.token });
      expect(response.status).toBe(403);
      expect(response.json.error.code).toBe("anonymous_not_allowed");
      expect(await fingerprint([anonymous.id])).toEqual(before);
    },
  );

  it("read their own film's status and their providers (200)", async () => {
    const [movie] = await sql`
      insert into public.movies (user_id, title, prompt, genre, duration_minutes, status)
      values (${anonymous.id}, 'Seen, not made', 'a read-only visit', 'drama', 1, 'failed') returning id`;
    const status = await invoke("produce-movie", { action: "status", movieId: movie.id }, {
      token: anonymous.token,
    });
    expect(status.status).toBe(200);
    expect(status.json.movie.id).toBe(movie.id);
    expect((await invoke("providers", { action: "list" }, { token: anonymous.token })).status).toBe(200);
    // Not someone else's: the owner check still holds for them (not found, as an unknown film).
    expect(
      (await invoke("produce-movie", { action: "status", movieId: movie.id }, { token: user.token })).status,
    ).toBe(404);
  });

  it("while a signed-up user's spending action gets past the check (to the owner check here)", async () => {
    const response = await invoke("generate-audio", {
      action: "start",
      movieId: crypto.randomUUID(),
      sceneNumber: 1,
    }, { token: user.token });
    expect(response.status).toBe(404);
  });
});

describe("request bodies", () => {
  it("over 256 KiB are 413 body_too_large, with Content-Length and streamed without it", async () => {
    const body = JSON.stringify({
      action: "start",
      title: "Big",
      prompt: "x".repeat(300 * 1024),
      genre: "drama",
      durationMinutes: 1,
    });
    const before = await fingerprint([user.id]);
    const declared = await invoke("produce-movie", body, { token: user.token });
    expect([declared.status, declared.json?.error?.code]).toEqual([413, "body_too_large"]);
    const bytes = new TextEncoder().encode(body);
    const stream = new ReadableStream({
      start(controller) {
        for (let at = 0; at < bytes.length; at += 32 * 1024) {
          controller.enqueue(bytes.slice(at, at + 32 * 1024));
        }
        controller.close();
      },
    });
    const streamed = await fetch(`${env.API_URL}/functions/v1/produce-movie`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await streamed.json()).error.code).toBe("body_too_large");
    expect(await fingerprint([user.id])).toEqual(before);
  });
});

describe("clone-database's operator gate", () => {
  it("answers a plain user, an anonymous user and the anon/publishable keys 403 operator_only", async () => {
    for (
      const credentials of [{ token: user.token }, { token: anonymous.token }, { token: env.ANON_KEY }, {
        headers: { apikey: env.PUBLISHABLE_KEY },
      }]
    ) {
      const response = await invoke("clone-database", {
        action: "start",
        targetUrl: "postgresql://u:p@db.example.com:5432/postgres",
      }, credentials);
      expect(response.status).toBe(403);
      expect(response.json.error.code).toBe("operator_only");
    }
  });

  it("lets the service role (legacy key, or sb_secret_ as bearer or apikey) and an operator user past the gate", async () => {
    const operator = await createOperatorUser();
    const credentials = [
      { token: env.SERVICE_ROLE_KEY },
      { token: env.SECRET_KEY },
      { headers: { apikey: env.SECRET_KEY } },
      { token: operator.token },
    ];
    for (const credential of credentials) {
      // Past the gate, an unknown job is the action's own 404.
      const response = await invoke(
        "clone-database",
        { action: "status", jobId: crypto.randomUUID() },
        credential,
      );
      expect([response.status, response.json?.error?.code]).toEqual([404, "not_found"]);
    }
  });

  it("refuses an operator's unexpired token as soon as the operator is demoted", async () => {
    const operator = await createOperatorUser();
    const status = () =>
      invoke("clone-database", { action: "status", jobId: crypto.randomUUID() }, { token: operator.token });
    expect((await status()).status).toBe(404);
    await authRequest(`admin/users/${operator.id}`, { app_metadata: { reelforge_role: null } }, {
      method: "PUT",
      token: env.SERVICE_ROLE_KEY,
    });
    // Before, the token's own copy of app_metadata admitted it until it expired (an hour).
    const refused = await status();
    expect([refused.status, refused.json?.error?.code]).toEqual([403, "operator_only"]);
  });

  it("still refuses API keys as callers of ordinary functions (401)", async () => {
    for (
      const credential of [{ token: env.SERVICE_ROLE_KEY }, { headers: { apikey: env.SECRET_KEY } }, {
        token: env.PUBLISHABLE_KEY,
      }]
    ) {
      const response = await invoke("produce-movie", readOf("produce-movie"), credential);
      expect(response.status).toBe(401);
      expect(response.json.error.message).toContain("not an API key");
    }
  });
});
