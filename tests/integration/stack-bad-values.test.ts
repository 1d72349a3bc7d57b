/**
 * The stack's Storage and Auth stand-ins under a hostile caller's requests (found by a probe): a
 * value Postgres cannot hold is a 400 naming the rule, never a 500; an upload RLS refuses is
 * refused before its bytes are read, as hosted Storage refuses it; a project of the test-only
 * `/_projects/` route comes into being for the service role only.
 */
import { afterAll, describe, expect, it } from "vitest";
import { connect, stackEnv } from "../support/stack.ts";

const env = stackEnv();
const sql = connect(1);
afterAll(() => sql.end());

const service = { authorization: `Bearer ${env.SERVICE_ROLE_KEY}`, apikey: env.SERVICE_ROLE_KEY };
const anon = { authorization: `Bearer ${env.ANON_KEY}`, apikey: env.ANON_KEY };

async function call(
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> },
) {
  const response = await fetch(`${env.API_URL}${path}`, {
    method: init.method ?? "POST",
    headers: { "content-type": "application/json", ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  return { status: response.status, text };
}

describe("values Postgres cannot hold", () => {
  it("are a 400 at Storage, saying which rule broke, and change nothing", async () => {
    const buckets = await sql`select count(*)::int as n from storage.buckets`;
    const cases: [string, string, string, unknown, Record<string, string>][] = [
      ["a NUL in a listing's prefix", "POST", "/storage/v1/object/list/media", { prefix: "a\u0000" }, anon],
      ["a NUL in a listing's search", "POST", "/storage/v1/object/list/media", {
        prefix: "",
        search: "\u0000",
      }, service],
      [
        "a NUL in a bucket's name",
        "POST",
        "/storage/v1/bucket",
        { id: "nul-probe", name: "p\u0000" },
        service,
      ],
      [
        "a NUL in allowed types",
        "PUT",
        "/storage/v1/bucket/media",
        { allowed_mime_types: ["\u0000"] },
        service,
      ],
      [
        "a NUL in prefixes to remove",
        "DELETE",
        "/storage/v1/object/media",
        { prefixes: ["x\u0000"] },
        service,
      ],
      [
        "a listing's limit past bigint",
        "POST",
        "/storage/v1/object/list/media",
        { prefix: "", limit: 1e20 },
        anon,
      ],
      ["a listing's offset past bigint", "POST", "/storage/v1/object/list/media", {
        prefix: "",
        offset: 1e20,
      }, service],
      ["a size limit past bigint", "PUT", "/storage/v1/bucket/media", { file_size_limit: 1e30 }, service],
    ];
    for (const [what, method, path, body, headers] of cases) {
      const answer = await call(path, { method, body, headers });
      // Before: 500 {"code":"INTERNAL_ERROR","message":"Gateway error"}.
      expect(answer.status, `${what}: ${answer.text}`).toBe(400);
      expect(JSON.parse(answer.text), what).toMatchObject({ statusCode: "400", code: "InvalidRequest" });
      expect(answer.text, what).toMatch(/NUL character|out of range/);
    }
    expect(await sql`select count(*)::int as n from storage.buckets`).toEqual(buckets);
    const [media] =
      await sql`select allowed_mime_types, file_size_limit from storage.buckets where id = 'media'`;
    expect(media.allowed_mime_types ?? []).not.toContain("\u0000");
  });

  it("are a 400 at Auth, in GoTrue's shape", async () => {
    const key = { apikey: env.ANON_KEY };
    for (
      const [what, path, body] of [
        ["a NUL in a sign-up's email", "/auth/v1/signup", {
          email: "a\u0000@reelforge.test",
          password: "password123",
        }],
        ["a NUL in a password sign-in", "/auth/v1/token?grant_type=password", {
          email: "\u0000",
          password: "x",
        }],
        ["a NUL in a refresh token", "/auth/v1/token?grant_type=refresh_token", { refresh_token: "\u0000" }],
      ] as const
    ) {
      const answer = await call(path, { body, headers: key });
      expect(answer.status, `${what}: ${answer.text}`).toBe(400);
      expect(JSON.parse(answer.text), what).toMatchObject({ error_code: "validation_failed" });
    }
  });
});

describe("an upload RLS refuses", () => {
  it("is refused before its bytes are read, as hosted Storage refuses it", async () => {
    // A body that never ends: the answer can only come before it is read to its end.
    let sent = 0;
    const chunk = new Uint8Array(64 * 1024);
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const response = await fetch(`${env.API_URL}/storage/v1/object/media/films/someone-else/probe.mp4`, {
      method: "POST",
      headers: { ...anon, "content-type": "video/mp4" },
      body,
      duplex: "half",
    } as RequestInit);
    const answer = await response.json();
    await body.cancel().catch(() => {});
    // Before: the stand-in read (and stored, and hashed) up to the 50 MB limit first.
    expect(answer).toMatchObject({ statusCode: "403", code: "AccessDenied" });
    expect(sent).toBeLessThan(16 * 1024 * 1024);
    expect(await sql`select 1 from storage.objects where name = 'films/someone-else/probe.mp4'`).toHaveLength(
      0,
    );
  });
});

describe("the /_projects/ route", () => {
  it("makes a project for the service role only; anyone else reaches one that exists", async () => {
    const name = `probe-${crypto.randomUUID().slice(0, 8)}`;
    const exists = async () =>
      (await sql`select 1 from pg_database where datname = ${`reelforge_project_${name}`}`).length > 0;
    const buckets = `/_projects/${name}/storage/v1/bucket`;
    // Storage's shape: HTTP 400, the real status in the body. Before: each of these created the
    // project's database first (and the anon key's was answered as a project with no buckets).
    const statusOf = async (headers?: Record<string, string>) =>
      JSON.parse((await call(buckets, { method: "GET", headers })).text).statusCode;
    expect(await statusOf()).toBe("400");
    expect(await statusOf(anon)).toBe("404");
    expect(await exists()).toBe(false);
    expect((await call(buckets, { method: "GET", headers: service })).status).toBe(200);
    expect(await exists()).toBe(true);
    // Now it exists: the anon key is answered by its Storage (no bucket it may see).
    expect(await call(buckets, { method: "GET", headers: anon })).toEqual({ status: 200, text: "[]" });
  });
});
