import { describe, expect, it } from "vitest";
import { buildProvidersFunction } from "../../shared/providers/registry/providers-function.ts";
import { legacyUserToken, TEST_AUTH_ENV } from "../support/test-tokens.ts";

const env = {
  ...TEST_AUTH_ENV,
  SUPABASE_ANON_KEY: "anon",
  SUPABASE_SERVICE_ROLE_KEY: "service-role-key-for-tests",
  // Never reached: every request below is refused before any query.
  SUPABASE_DB_URL: "postgresql://nobody:nothing@127.0.0.1:1/none",
  REELFORGE_INTERNAL_SECRET: "internal-secret-0123456789",
  REELFORGE_ENCRYPTION_KEY: "encryption-key-with-at-least-32-characters",
};
const userToken = () => legacyUserToken();

async function post(path: string, body: unknown, token: string) {
  const { app } = buildProvidersFunction({ env, waitUntil: () => {} });
  const response = await app.request(path, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
  });
  return { status: response.status, json: await response.json() };
}

describe("providers function app", () => {
  it("lists only its own actions, without task status/cancel/resume", async () => {
    const { status, json } = await post("/providers", { action: "status" }, await userToken());
    expect(status).toBe(400);
    expect(json.error.message).toContain("list, register, rotate_key, deactivate");
  });

  it("refuses a registration naming the problem before touching the database", async () => {
    const { status, json } = await post("/providers", {
      action: "register",
      providerType: "video",
      provider: "runway",
      model: "gen4_turbo",
    }, await userToken());
    expect(status).toBe(400);
    expect(json.error.code).toBe("api_key_required");
  });

  it("refuses a field the registration does not have", async () => {
    const { status, json } = await post("/providers", {
      action: "register",
      providerType: "llm",
      provider: "local",
      model: "local",
      baseUrl: "http://x",
    }, await userToken());
    expect(status).toBe(400);
    expect(json.error.code).toBe("invalid_request");
    expect(json.error.message).toContain("baseUrl");
  });

  it("keeps project defaults to the service role key", async () => {
    expect((await post("/providers/defaults", { action: "list" }, await userToken())).status).toBe(401);
    expect((await post("/providers/defaults", { action: "list" }, "service-role-key-for-test")).status).toBe(
      401,
    );
    const unknown = await post("/providers/defaults", { action: "drop" }, env.SUPABASE_SERVICE_ROLE_KEY);
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.code).toBe("unknown_action");
  });

  it("does not take the service role key as a user on the user route", async () => {
    expect((await post("/providers", { action: "list" }, env.SUPABASE_SERVICE_ROLE_KEY)).status).toBe(401);
  });
});
