import { describe, expect, it } from "vitest";
import { buildFunction } from "../../shared/http/build-function.ts";
import { NotImplementedError } from "../../shared/errors.ts";
import { z } from "zod";
import { createAuthenticatorFromConfig } from "../../shared/auth/authenticator-from-config.ts";
import { createFunctionApp, defineAction } from "../../shared/http/function-app.ts";
import { signJwt } from "../../scripts/stack/jwt.ts";
import { legacyUserToken, TEST_AUTH_ENV, TEST_JWT_SECRET, TEST_USER_ID } from "../support/test-tokens.ts";

const env = {
  ...TEST_AUTH_ENV,
  SUPABASE_ANON_KEY: "anon",
  SUPABASE_SERVICE_ROLE_KEY: "service",
  // Never reached: every request below is refused before any query.
  SUPABASE_DB_URL: "postgresql://nobody:nothing@127.0.0.1:1/none",
  REELFORGE_INTERNAL_SECRET: "internal-secret-0123456789",
};

/** An action that answers as an unbuilt capability must: an honest 501, never a fake success. */
const unbuilt = defineAction({
  input: z.object({}).passthrough(),
  run() {
    throw new NotImplementedError('produce-movie: action "start" is not built yet');
  },
});

function app() {
  return buildFunction(
    { name: "produce-movie", actions: () => ({ start: unbuilt }) },
    { env, waitUntil: () => {}, workerStartedAt: Date.now() },
  ).app;
}

async function post(body: string, headers: Record<string, string> = {}, path = "/produce-movie") {
  const response = await app().request(path, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...headers },
  });
  return { status: response.status, json: await response.json() };
}

const userToken = () => legacyUserToken();

describe("function app", () => {
  it("answers an unbuilt action with 501 and says so", async () => {
    const { status, json } = await post(JSON.stringify({ action: "start" }), {
      authorization: `Bearer ${await userToken()}`,
    });
    expect(status).toBe(501);
    expect(json.error).toMatchObject({ code: "not_implemented" });
    expect(json.error.message).toContain("not built yet");
  });

  it("answers malformed JSON with 400 invalid_json", async () => {
    const { status, json } = await post("{nope", { authorization: `Bearer ${await userToken()}` });
    expect(status).toBe(400);
    expect(json.error.code).toBe("invalid_json");
  });

  it("answers a body that is not UTF-8 with 400 invalid_json, not with its bytes replaced", async () => {
    const response = await app().request("/produce-movie", {
      method: "POST",
      body: new Uint8Array([
        ...new TextEncoder().encode('{"action":"'),
        0xff,
        0xfe,
        ...new TextEncoder().encode('"}'),
      ]),
      headers: { "content-type": "application/json", authorization: `Bearer ${await userToken()}` },
    });
    const json = await response.json();
    expect(response.status).toBe(400);
    expect(json.error).toMatchObject({ code: "invalid_json" });
    expect(json.error.message).toContain("not valid UTF-8");
  });

  it("answers an unknown action with 400 naming the valid ones", async () => {
    const { status, json } = await post(JSON.stringify({ action: "explode" }), {
      authorization: `Bearer ${await userToken()}`,
    });
    expect(status).toBe(400);
    expect(json.error.code).toBe("unknown_action");
    expect(json.error.message).toContain("status, cancel, resume, start");
  });

  it.each(["constructor", "toString", "hasOwnProperty", "__proto__"])(
    "answers the action %s, a name every object inherits, with 400 unknown_action",
    async (action) => {
      const { status, json } = await post(JSON.stringify({ action }), {
        authorization: `Bearer ${await userToken()}`,
      });
      expect([status, json.error.code]).toEqual([400, "unknown_action"]);
    },
  );

  it.each([
    ["a NUL character", JSON.stringify({ action: "start", title: "a\u0000b" }), "title"],
    ["an unpaired surrogate", JSON.stringify({ action: "start", draft: { text: "\ud83d" } }), "draft.text"],
    ["a NUL in a field's name", JSON.stringify({ action: "start", ["t\u0000"]: 1 }), "t\u0000"],
    [
      "a field named __proto__",
      `{"action":"start","settings":{"__proto__":{"x":1},"seed":3}}`,
      "settings.__proto__",
    ],
    ["nesting past 32 levels", `{"action":"start","seed":${"[".repeat(33)}${"]".repeat(33)}}`, "seed.0.0"],
  ])("answers %s before any action runs with 400 naming where", async (_label, body, path) => {
    const { status, json } = await post(body, { authorization: `Bearer ${await userToken()}` });
    expect([status, json.error.code]).toEqual([400, "invalid_request"]);
    expect(json.error.details[0].path).toContain(path);
  });

  it("takes 32 levels of nesting and a paired surrogate (an emoji) as any action's input", async () => {
    const body = `{"action":"start","title":"\ud83c\udfac","seed":${"[".repeat(31)}${"]".repeat(31)}}`;
    const { status } = await post(body, { authorization: `Bearer ${await userToken()}` });
    expect(status).toBe(501);
  });

  it("answers a wrongly typed field with 400 naming the field", async () => {
    const { status, json } = await post(JSON.stringify({ action: "status", taskId: 42 }), {
      authorization: `Bearer ${await userToken()}`,
    });
    expect(status).toBe(400);
    expect(json.error.code).toBe("invalid_request");
    expect(json.error.message).toContain("taskId");
  });

  it("answers a missing action with 400", async () => {
    const { status, json } = await post(JSON.stringify({ taskId: "x" }), {
      authorization: `Bearer ${await userToken()}`,
    });
    expect(status).toBe(400);
    expect(json.error.message).toContain("action");
  });

  it("answers a request without a user token with 401", async () => {
    const anon = await signJwt({ role: "anon", exp: Math.floor(Date.now() / 1000) + 600 }, TEST_JWT_SECRET);
    expect((await post(JSON.stringify({ action: "start" }))).status).toBe(401);
    expect((await post(JSON.stringify({ action: "start" }), { authorization: `Bearer ${anon}` })).status)
      .toBe(401);
  });

  it("answers GET with 405 and unknown paths with 404", async () => {
    expect((await app().request("/produce-movie", { method: "GET" })).status).toBe(405);
    expect((await app().request("/produce-movie/nope", { method: "POST" })).status).toBe(404);
  });
});

describe("caller admission", () => {
  const ran: Array<{ action: string; userId: string; isServiceRole: boolean }> = [];
  const action = (name: string, spends: boolean) =>
    defineAction({
      spends,
      input: z.object({}).strict(),
      async run(_input, caller) {
        ran.push({ action: name, userId: caller.userId, isServiceRole: caller.isServiceRole });
        return { body: { ok: true } };
      },
    });
  const authenticate = createAuthenticatorFromConfig({
    ...TEST_AUTH_ENV,
    SUPABASE_ANON_KEY: "anon-key-for-tests",
    SUPABASE_SERVICE_ROLE_KEY: "service-role-key-for-tests",
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: "sb_secret_0123456789abcdef0123" }),
  });
  // Who auth.users says is an operator now (shared/auth/operator-standing.ts).
  const operatorsNow = new Set([TEST_USER_ID]);
  const appFor = (admits: "users" | "operators") =>
    createFunctionApp({
      name: "probe",
      admits,
      operatorNow: async (userId) => operatorsNow.has(userId),
      authenticate,
      internalSecret: "internal-secret-0123456789",
      waitUntil: () => {},
      actions: { spend: action("spend", true), read: action("read", false) },
    });
  async function call(
    admits: "users" | "operators",
    actionName: string,
    headers: Record<string, string>,
    body?: string,
  ) {
    const response = await appFor(admits).request("/probe", {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: body ?? JSON.stringify({ action: actionName }),
    });
    return { status: response.status, json: await response.json() };
  }
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it("lets an anonymous user read but answers a spending action 403 anonymous_not_allowed before it runs", async () => {
    ran.length = 0;
    const anonymous = await legacyUserToken({ is_anonymous: true });
    expect((await call("users", "read", bearer(anonymous))).status).toBe(200);
    const spend = await call("users", "spend", bearer(anonymous));
    expect(spend.status).toBe(403);
    expect(spend.json.error.code).toBe("anonymous_not_allowed");
    expect(ran.map((r) => r.action)).toEqual(["read"]);
    expect((await call("users", "spend", bearer(await legacyUserToken()))).status).toBe(200);
  });

  it("refuses API keys as callers of an ordinary function with 401", async () => {
    for (
      const headers of [
        bearer("service-role-key-for-tests"),
        { apikey: "sb_secret_0123456789abcdef0123" },
        bearer("anon-key-for-tests"),
      ]
    ) {
      const { status, json } = await call("users", "read", headers);
      expect(status).toBe(401);
      expect(json.error.message).toContain("not an API key");
    }
  });

  it("admits the service role (legacy key, sb_secret_ bearer or apikey) as SERVICE_ROLE_USER_ID at an operator function", async () => {
    ran.length = 0;
    for (
      const headers of [bearer("service-role-key-for-tests"), bearer("sb_secret_0123456789abcdef0123"), {
        apikey: "sb_secret_0123456789abcdef0123",
      }]
    ) {
      expect((await call("operators", "spend", headers)).status).toBe(200);
    }
    expect(ran).toEqual(
      Array(3).fill({ action: "spend", userId: "00000000-0000-0000-0000-000000000000", isServiceRole: true }),
    );
  });

  it("admits an operator user and answers everyone else 403 operator_only before the action runs", async () => {
    ran.length = 0;
    const operator = await legacyUserToken({ app_metadata: { reelforge_role: "operator" } });
    expect((await call("operators", "read", bearer(operator))).status).toBe(200);
    expect(ran).toEqual([{ action: "read", userId: TEST_USER_ID, isServiceRole: false }]);
    const refused = [
      bearer(await legacyUserToken()),
      bearer(await legacyUserToken({ is_anonymous: true, app_metadata: { reelforge_role: "operator" } })),
      bearer(await legacyUserToken({ user_metadata: { reelforge_role: "operator" } })),
      bearer("anon-key-for-tests"),
    ];
    for (const headers of refused) {
      const { status, json } = await call("operators", "read", headers);
      expect(status).toBe(403);
      expect(json.error.code).toBe("operator_only");
    }
    expect(ran).toHaveLength(1);
  });

  it("refuses an operator's token once the user is no operator any more, though it has not expired", async () => {
    ran.length = 0;
    const operator = await legacyUserToken({ app_metadata: { reelforge_role: "operator" } });
    operatorsNow.delete(TEST_USER_ID);
    try {
      const { status, json } = await call("operators", "read", bearer(operator));
      expect([status, json.error.code]).toEqual([403, "operator_only"]);
      expect(ran).toEqual([]);
    } finally {
      operatorsNow.add(TEST_USER_ID);
    }
  });

  it("answers a wrong secret key 401 invalid_api_key and a forged token 401 invalid_token, at either kind of function", async () => {
    for (const admits of ["users", "operators"] as const) {
      const wrongKey = await call(admits, "read", { apikey: "sb_secret_0123456789abcdef0124" });
      expect([wrongKey.status, wrongKey.json.error.code]).toEqual([401, "invalid_api_key"]);
      const forged = await call(
        admits,
        "read",
        bearer(
          await legacyUserToken(
            { app_metadata: { reelforge_role: "operator" } },
            "another-secret-that-is-at-least-32-characters",
          ),
        ),
      );
      expect([forged.status, forged.json.error.code]).toEqual([401, "invalid_token"]);
    }
  });

  it("answers a body over 256 KiB 413 body_too_large, by Content-Length and when streamed without one", async () => {
    const token = await legacyUserToken();
    const big = JSON.stringify({ action: "read", pad: "x".repeat(300 * 1024) });
    const declared = await call("users", "read", bearer(token), big);
    expect([declared.status, declared.json.error.code]).toEqual([413, "body_too_large"]);
    const chunks = new TextEncoder().encode(big);
    const stream = new ReadableStream({
      start(controller) {
        for (let at = 0; at < chunks.length; at += 16 * 1024) {
          controller.enqueue(chunks.slice(at, at + 16 * 1024));
        }
        controller.close();
      },
    });
    const request = new Request(
      "http://local/probe",
      { method: "POST", headers: bearer(token), body: stream, duplex: "half" } as RequestInit,
    );
    expect(request.headers.get("content-length")).toBeNull();
    const streamed = await appFor("users").request(request);
    expect(streamed.status).toBe(413);
    expect((await streamed.json()).error.code).toBe("body_too_large");
  });
});

describe("the task-slice doorbell", () => {
  const authenticate = createAuthenticatorFromConfig({
    ...TEST_AUTH_ENV,
    SUPABASE_ANON_KEY: "anon",
    SUPABASE_SERVICE_ROLE_KEY: "service",
  });
  type RunSlice = (taskId: string, onClaimed?: (claimed: boolean) => void) => Promise<never | "done">;
  async function ring(runSlice: RunSlice | undefined, secret: string | null = "internal-secret-0123456789") {
    const background: Promise<unknown>[] = [];
    const app = createFunctionApp({
      name: "probe",
      authenticate,
      internalSecret: "internal-secret-0123456789",
      actions: {},
      waitUntil: (work) => void background.push(work),
      runSlice,
    });
    const response = await app.request("/probe/task-slice", {
      method: "POST",
      body: JSON.stringify({ taskId: crypto.randomUUID() }),
      headers: {
        "content-type": "application/json",
        ...(secret === null ? {} : { "x-reelforge-internal": secret }),
      },
    });
    return { status: response.status, json: await response.json(), background };
  }

  // A function with task handlers, so the route exists and only the secret check can refuse.
  it("refuses a ring without the internal secret, or with a wrong one, with 401 and runs no slice", async () => {
    let slices = 0;
    const runSlice: RunSlice = async (_id, onClaimed) => (slices++, onClaimed?.(true), "done");
    for (const secret of [null, "", "internal-secret-0123456788", "internal-secret-0123456789x"]) {
      const { status, json } = await ring(runSlice, secret);
      expect([status, json.error.code]).toEqual([401, "unauthorized"]);
    }
    expect(slices).toBe(0);
  });

  it("answers a ring at a function that runs no tasks with 404, even with the right secret", async () => {
    const { status, json } = await ring(undefined);
    expect([status, json.error.code]).toEqual([404, "not_found"]);
  });

  it("answers once the claim has committed, before the slice's work is done", async () => {
    let finishWork!: () => void;
    const { status, json, background } = await ring(async (_id, onClaimed) => {
      onClaimed?.(true);
      await new Promise<void>((resolve) => (finishWork = resolve));
      return "done";
    });
    expect(status).toBe(202);
    expect(json).toMatchObject({ accepted: true, claimed: true });
    finishWork();
    await Promise.all(background);
  });

  it("answers claimed: false when the slice fails before claiming", async () => {
    const { status, json } = await ring(() => Promise.reject(new Error("database unreachable")));
    expect(status).toBe(202);
    expect(json).toMatchObject({ accepted: true, claimed: false });
  });
});
