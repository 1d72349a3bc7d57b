import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signJwt } from "../../scripts/stack/jwt.ts";
import { connect, createOperatorUser, invoke, type Sql, stackEnv, type TestUser } from "../support/stack.ts";

const functions = [
  "clone-database",
  "produce-movie",
  "generate-scene-video",
  "generate-audio",
  "regenerate-asset",
  "assemble",
  "engine-probe",
];

let sql: Sql;
let user: TestUser;

beforeAll(async () => {
  sql = connect();
  // An operator, so clone-database (operators only, checked before the input) judges the input too.
  user = await createOperatorUser();
});
afterAll(() => sql.end());

/** Everything a bad request from this user could have touched (other files' tasks may still be settling). */
async function fingerprint() {
  const [row] = await sql`
    select (select count(*) from public.background_tasks where user_id = ${user.id})::int as tasks,
           (select count(*) from public.background_task_steps s join public.background_tasks t on t.id = s.task_id
             where t.user_id = ${user.id})::int as steps,
           (select count(*) from auth.users)::int as users`;
  return row;
}

const badBodies: Array<[string, string, string]> = [
  ["malformed JSON", "{not json", "invalid_json"],
  ["an empty body", "", "invalid_json"],
  ["a JSON array", "[1,2]", "invalid_json"],
  ["no action", JSON.stringify({ taskId: "x" }), "invalid_request"],
  ["an action of the wrong type", JSON.stringify({ action: 7 }), "invalid_request"],
  ["an unknown action", JSON.stringify({ action: "self-destruct" }), "unknown_action"],
  // Names every object inherits: looked up as actions they once reached a 500.
  ["an action named constructor", JSON.stringify({ action: "constructor" }), "unknown_action"],
  ["an action named toString", JSON.stringify({ action: "toString" }), "unknown_action"],
  ["a taskId of the wrong type", JSON.stringify({ action: "status", taskId: 12 }), "invalid_request"],
  ["a taskId that is not a UUID", JSON.stringify({ action: "cancel", taskId: "abc" }), "invalid_request"],
  [
    "an unexpected field",
    JSON.stringify({ action: "resume", taskId: crypto.randomUUID(), extra: 1 }),
    "invalid_request",
  ],
  // What Postgres cannot store as text or jsonb, and nesting deeper than any input: once 500s.
  ["a NUL character in a field", JSON.stringify({ action: "status", taskId: "a\u0000b" }), "invalid_request"],
  [
    "an unpaired surrogate in a field",
    JSON.stringify({ action: "status", taskId: "\ud800" }),
    "invalid_request",
  ],
  [
    "a NUL character in a field's name",
    JSON.stringify({ action: "status", ["x\u0000"]: 1 }),
    "invalid_request",
  ],
  [
    "a body nested 40 levels deep",
    `{"action":"status","taskId":${"[".repeat(40)}${"]".repeat(40)}}`,
    "invalid_request",
  ],
];

describe.each(functions)("bad input to %s", (fn) => {
  it.each(badBodies)(
    "answers %s with a 400 that names the problem and changes nothing",
    async (_label, body, code) => {
      const before = await fingerprint();
      const response = await invoke(fn, body, { token: user.token });
      expect(response.status).toBe(400);
      expect(response.json?.error?.code).toBe(code);
      expect(response.json.error.message.length).toBeGreaterThan(10);
      expect(await fingerprint()).toEqual(before);
    },
  );

  it("answers an unknown task with 404", async () => {
    const response = await invoke(fn, { action: "status", taskId: crypto.randomUUID() }, {
      token: user.token,
    });
    expect(response.status).toBe(404);
    expect(response.json.error.code).toBe("not_found");
  });

  it("answers missing, invalid, expired and API-key auth with 401 (the anon key at clone-database: 403 operator_only)", async () => {
    const before = await fingerprint();
    const body = { action: "status", taskId: crypto.randomUUID() };
    const expired = await signJwt({ sub: user.id, role: "authenticated", exp: 1 }, stackEnv().JWT_SECRET);
    const forged = await signJwt(
      { sub: user.id, role: "authenticated" },
      "another-secret-that-is-32-characters-long",
    );
    const cases: Array<[string | undefined, string]> = [
      [undefined, "unauthorized"],
      ["garbage", "invalid_token"],
      [expired, "invalid_token"],
      [forged, "invalid_token"],
    ];
    for (const [token, code] of cases) {
      const response = await invoke(fn, body, { token });
      expect(response.status).toBe(401);
      // engine-probe is a fixture registered with verify_jwt on: the gateway refuses it in the platform's own shape.
      if (fn === "engine-probe") {
        expect(response.json).toMatchObject({
          code: 401,
          message: token ? "Invalid JWT" : "Missing authorization header",
        });
      } else expect(response.json.error.code).toBe(code);
    }
    const anonKey = await invoke(fn, body, { token: stackEnv().ANON_KEY });
    expect([anonKey.status, anonKey.json.error.code]).toEqual(
      fn === "clone-database" ? [403, "operator_only"] : [401, "unauthorized"],
    );
    expect(await fingerprint()).toEqual(before);
  });

  // Every function here runs tasks, so the route exists and only the secret check answers.
  it("refuses the internal task-slice route without the internal secret, or with a wrong one, with 401", async () => {
    const before = await fingerprint();
    const cases: Record<string, string>[] = [{}, { "x-reelforge-internal": "guess" }];
    for (const headers of cases) {
      const response = await invoke(fn, { taskId: crypto.randomUUID() }, {
        token: user.token,
        path: "/task-slice",
        headers,
      });
      expect([response.status, response.json.error.code]).toEqual([401, "unauthorized"]);
    }
    expect(await fingerprint()).toEqual(before);
  });
});

describe("regenerate-asset", () => {
  it("answers an unknown action with 400 listing its actions, changing nothing", async () => {
    const before = await fingerprint();
    const response = await invoke("regenerate-asset", { action: "regenerate" }, { token: user.token });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe("unknown_action");
    expect(response.json.error.message).toContain("start, accept, reject");
    expect(await fingerprint()).toEqual(before);
  });
});

describe("text Postgres cannot store, and deep nesting, in free-form fields", () => {
  it.each([
    ["a NUL in a draft prompt", { prompt: "hello\u0000world" }, "draft.prompt"],
    ["an unpaired surrogate in a draft setting", { settings: { style: "\udc00" } }, "draft.settings.style"],
    [
      "draft settings nested 100 levels deep",
      { settings: { seed: JSON.parse(`${"[".repeat(100)}${"]".repeat(100)}`) } },
      "draft.settings.seed",
    ],
  ])("regenerate-asset start answers %s with a 400 naming the field", async (_label, draft, path) => {
    const before = await fingerprint();
    const response = await invoke("regenerate-asset", {
      action: "start",
      target: { movieId: crypto.randomUUID() },
      kind: "cover",
      draft,
    }, { token: user.token });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe("invalid_request");
    expect(response.json.error.message).toContain(path);
    expect(await fingerprint()).toEqual(before);
  });

  it("produce-movie start names a title holding a NUL character", async () => {
    const response = await invoke("produce-movie", {
      action: "start",
      title: "a\u0000b",
      prompt: "P",
      genre: "G",
      durationMinutes: 0.5,
    }, { token: user.token });
    expect([response.status, response.json.error.code]).toEqual([400, "invalid_request"]);
    expect(response.json.error.message).toContain("title");
  });

  it("produce-movie quote and start refuse a prompt of invisible characters alone, changing nothing", async () => {
    const before = await fingerprint();
    for (const action of ["quote", "start"]) {
      const response = await invoke("produce-movie", {
        action,
        title: "Blank",
        prompt: " \u200b\u2060 ",
        genre: "drama",
        durationMinutes: 0.5,
      }, { token: user.token });
      // Before, both took it: a film planned from nothing.
      expect([response.status, response.json.error.code]).toEqual([400, "invalid_request"]);
      expect(response.json.error.message).toContain("prompt must have a visible character");
    }
    expect(await fingerprint()).toEqual(before);
  });

  it("produce-movie quote refuses a title or genre that hides, moves or draws nothing, and a prompt with a terminal escape", async () => {
    const film = { title: "Harbour Light", prompt: "A pilot follows a smuggler's light.", genre: "thriller" };
    const quote = (fields: Record<string, string>) =>
      invoke("produce-movie", { action: "quote", ...film, ...fields, durationMinutes: 0.5 }, {
        token: user.token,
      });
    // Before, each was taken, and shown wherever the film is listed.
    const refused: Array<[Record<string, string>, string]> = [
      [{ title: "\u0007bell" }, "title must not contain control characters"],
      [{ title: "\u001b[31mred" }, "title must not contain control characters"],
      [{ genre: "a\u000cb" }, "genre must not contain control characters"],
      [{ title: "two\nlines" }, "title must be one line"],
      [{ title: "a\u200fb" }, "title must not contain bidirectional control characters"],
      [{ title: "\u3164" }, "title must have a visible character"],
      [{ genre: "\u2800\u2800" }, "genre must have a visible character"],
      [{ prompt: "\u001b]0;owned\u0007 a night at sea" }, "prompt must not contain control characters"],
    ];
    for (const [fields, message] of refused) {
      const response = await quote(fields);
      expect([response.status, response.json.error.code], JSON.stringify(fields)).toEqual([
        400,
        "invalid_request",
      ]);
      expect(response.json.error.message).toContain(message);
    }
    // A prompt keeps its lines and tabs.
    expect((await quote({ prompt: "Night.\n\tA pilot follows a smuggler's light." })).status).toBe(200);
  });

  it("providers answers an action named constructor with 400 unknown_action", async () => {
    const response = await invoke("providers", { action: "constructor" }, { token: user.token });
    expect([response.status, response.json.error.code]).toEqual([400, "unknown_action"]);
  });
});

describe("engine-probe start", () => {
  it("answers a start with a wrongly typed payload with 400 and creates no task", async () => {
    const before = await fingerprint();
    const response = await invoke("engine-probe", { action: "start", kind: "probe.nope", payload: [] }, {
      token: user.token,
    });
    expect(response.status).toBe(400);
    expect(response.json.error.message).toContain("kind");
    expect(await fingerprint()).toEqual(before);
  });
});
