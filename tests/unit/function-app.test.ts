import { describe, expect, it } from "vitest";
import { buildFunction } from "../../shared/http/build-function.ts";
import { notBuiltActions } from "../../shared/http/not-built.ts";
import { signJwt } from "../../scripts/stack/jwt.ts";

const secret = "test-secret-with-at-least-32-characters!!";
const env = {
  SUPABASE_URL: "http://127.0.0.1:1",
  SUPABASE_ANON_KEY: "anon",
  SUPABASE_SERVICE_ROLE_KEY: "service",
  // Never reached: every request below is refused before any query.
  SUPABASE_DB_URL: "postgresql://nobody:nothing@127.0.0.1:1/none",
  REELFORGE_INTERNAL_SECRET: "internal-secret-0123456789",
};

function app() {
  return buildFunction(
    { name: "produce-movie", actions: () => notBuiltActions("produce-movie", ["start"], "issue 5") },
    { env, waitUntil: () => {}, workerStartedAt: Date.now() },
  ).app;
}

async function post(body: string, headers: Record<string, string> = {}, path = "/produce-movie") {
  const response = await app().request(path, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });
  return { status: response.status, json: await response.json() };
}

const userToken = () => signJwt({ sub: "3f0c2a9e-6a57-4d0a-9a47-2f4b9f2c1d11", role: "authenticated" }, secret);

describe("function app", () => {
  it("answers an unbuilt action with 501 and says so", async () => {
    const { status, json } = await post(JSON.stringify({ action: "start" }), { authorization: `Bearer ${await userToken()}` });
    expect(status).toBe(501);
    expect(json.error).toMatchObject({ code: "not_implemented" });
    expect(json.error.message).toContain("not built yet");
  });

  it("answers malformed JSON with 400 invalid_json", async () => {
    const { status, json } = await post("{nope", { authorization: `Bearer ${await userToken()}` });
    expect(status).toBe(400);
    expect(json.error.code).toBe("invalid_json");
  });

  it("answers an unknown action with 400 naming the valid ones", async () => {
    const { status, json } = await post(JSON.stringify({ action: "explode" }), { authorization: `Bearer ${await userToken()}` });
    expect(status).toBe(400);
    expect(json.error.code).toBe("unknown_action");
    expect(json.error.message).toContain("status, cancel, resume, start");
  });

  it("answers a wrongly typed field with 400 naming the field", async () => {
    const { status, json } = await post(JSON.stringify({ action: "status", taskId: 42 }), { authorization: `Bearer ${await userToken()}` });
    expect(status).toBe(400);
    expect(json.error.code).toBe("invalid_request");
    expect(json.error.message).toContain("taskId");
  });

  it("answers a missing action with 400", async () => {
    const { status, json } = await post(JSON.stringify({ taskId: "x" }), { authorization: `Bearer ${await userToken()}` });
    expect(status).toBe(400);
    expect(json.error.message).toContain("action");
  });

  it("answers a request without a user token with 401", async () => {
    const anon = await signJwt({ role: "anon" }, secret);
    expect((await post(JSON.stringify({ action: "start" }))).status).toBe(401);
    expect((await post(JSON.stringify({ action: "start" }), { authorization: `Bearer ${anon}` })).status).toBe(401);
  });

  it("refuses the task-slice doorbell without the internal secret", async () => {
    const { status, json } = await post(JSON.stringify({ taskId: crypto.randomUUID() }), {}, "/produce-movie/task-slice");
    expect([401, 404]).toContain(status);
    expect(json.error.code).toBeDefined();
  });

  it("answers GET with 405 and unknown paths with 404", async () => {
    expect((await app().request("/produce-movie", { method: "GET" })).status).toBe(405);
    expect((await app().request("/produce-movie/nope", { method: "POST" })).status).toBe(404);
  });
});
