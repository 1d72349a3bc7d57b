import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createStorageApi } from "../../scripts/stack/storage-api.ts";

const key = "service-role-key";
const auth = { authorization: `Bearer ${key}`, apikey: key };

describe("local Storage API stand-in", () => {
  let dir: string;
  let api: ReturnType<typeof createStorageApi>;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "reelforge-storage-api-"));
    api = createStorageApi({ dir, serviceRoleKey: key, publicBaseUrl: "http://127.0.0.1:54321/storage/v1/object/public" });
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function call(method: string, path: string, init: { body?: BodyInit; headers?: Record<string, string> } = {}) {
    const request = new Request(`http://127.0.0.1:54321${path}`, { method, body: init.body, headers: { ...auth, ...init.headers } });
    const response = await api(request, new URL(request.url).pathname);
    const text = await response.text();
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch { /* a file's bytes */ }
    return { status: response.status, headers: response.headers, json, text };
  }

  const json = (value: unknown) => ({ body: JSON.stringify(value), headers: { "content-type": "application/json" } });
  const createBucket = (id: string, isPublic = true) => call("POST", "/storage/v1/bucket", json({ id, name: id, public: isPublic }));
  const upload = (path: string, body: string, headers: Record<string, string> = {}) =>
    call("POST", `/storage/v1/object/${path}`, { body, headers: { "content-type": "text/plain", ...headers } });

  it("refuses a request without the service role key", async () => {
    const response = await api(new Request("http://x/storage/v1/bucket", { headers: { authorization: "Bearer anon" } }), "/storage/v1/bucket");
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ statusCode: "401", error: "Unauthorized" });
  });

  it("creates a bucket once and answers a second create as Storage does: 400 with statusCode 409", async () => {
    expect(await createBucket("media", false)).toMatchObject({ status: 200, json: { name: "media" } });
    expect(await createBucket("media")).toMatchObject({ status: 400, json: { statusCode: "409", error: "Duplicate" } });
    expect((await call("GET", "/storage/v1/bucket")).json).toEqual([
      { id: "media", name: "media", public: false, file_size_limit: null, allowed_mime_types: null },
    ]);
    expect((await call("GET", "/storage/v1/bucket/media")).json).toMatchObject({ id: "media", public: false });
    expect(await call("GET", "/storage/v1/bucket/nope")).toMatchObject({ status: 400, json: { statusCode: "404", error: "Bucket not found" } });
  });

  it("answers bad bucket input with 400 JSON", async () => {
    expect(await call("POST", "/storage/v1/bucket", { body: "not json" })).toMatchObject({ status: 400, json: { error: "Invalid Input" } });
    expect(await call("POST", "/storage/v1/bucket", json({ name: 42 }))).toMatchObject({ status: 400, json: { statusCode: "400" } });
    expect(await call("POST", "/storage/v1/bucket", json({ name: "../up" }))).toMatchObject({ status: 400, json: { error: "Invalid key" } });
  });

  it("refuses an upload into a bucket that does not exist", async () => {
    expect(await upload("nope/a.txt", "a")).toMatchObject({ status: 400, json: { statusCode: "404", error: "Bucket not found" } });
  });

  it("uploads with the content type and cache control headers, and serves them back", async () => {
    await createBucket("media");
    const uploaded = await upload("media/folder/%C3%A9t%C3%A9.txt", "summer", { "content-type": "text/csv", "cache-control": "max-age=60" });
    expect(uploaded).toMatchObject({ status: 200, json: { Key: "media/folder/été.txt" } });
    for (const path of ["/storage/v1/object/media/folder/%C3%A9t%C3%A9.txt", "/storage/v1/object/authenticated/media/folder/%C3%A9t%C3%A9.txt"]) {
      const got = await call("GET", path);
      expect(got.status).toBe(200);
      expect(got.text).toBe("summer");
      expect(got.headers.get("content-type")).toBe("text/csv");
      expect(got.headers.get("cache-control")).toBe("max-age=60");
    }
  });

  it("stores no-cache and application/octet-stream when the headers are missing, as Storage does", async () => {
    await createBucket("media");
    await call("POST", "/storage/v1/object/media/blob", { body: new Uint8Array([1, 2, 3]) });
    const listed = await call("POST", "/storage/v1/object/list/media", json({ prefix: "" }));
    expect(listed.json[0].metadata).toMatchObject({ size: 3, mimetype: "application/octet-stream", cacheControl: "no-cache" });
  });

  it("refuses to overwrite without x-upsert and overwrites with it", async () => {
    await createBucket("media");
    await upload("media/a.txt", "first");
    expect(await upload("media/a.txt", "second")).toMatchObject({ status: 400, json: { statusCode: "409" } });
    expect(await upload("media/a.txt", "third", { "x-upsert": "true" })).toMatchObject({ status: 200 });
    expect((await call("GET", "/storage/v1/object/media/a.txt")).text).toBe("third");
  });

  it("answers a missing object as Storage does: 400 with statusCode 404", async () => {
    await createBucket("media");
    expect(await call("GET", "/storage/v1/object/media/none.txt")).toMatchObject({ status: 400, json: { statusCode: "404", error: "not_found" } });
  });

  it("lists one folder: files with metadata, sub-folders with a null id, sorted by name and paged", async () => {
    await createBucket("media");
    for (const name of ["b.txt", "a.txt", "sub/x.txt", "sub/deeper/y.txt", "c.txt"]) await upload(`media/${name}`, name);

    const top = await call("POST", "/storage/v1/object/list/media", json({ prefix: "", limit: 10, offset: 0, sortBy: { column: "name", order: "asc" } }));
    expect(top.json.map((entry: { name: string; id: string | null }) => [entry.name, entry.id === null])).toEqual([
      ["a.txt", false], ["b.txt", false], ["c.txt", false], ["sub", true],
    ]);
    expect(top.json[0]).toMatchObject({ metadata: { size: 5, mimetype: "text/plain", cacheControl: "no-cache" } });

    const page = await call("POST", "/storage/v1/object/list/media", json({ prefix: "", limit: 2, offset: 2 }));
    expect(page.json.map((entry: { name: string }) => entry.name)).toEqual(["c.txt", "sub"]);

    const sub = await call("POST", "/storage/v1/object/list/media", json({ prefix: "sub/" }));
    expect(sub.json.map((entry: { name: string }) => entry.name)).toEqual(["deeper", "x.txt"]);
    const desc = await call("POST", "/storage/v1/object/list/media", json({ prefix: "", sortBy: { column: "name", order: "desc" } }));
    expect(desc.json[0].name).toBe("sub");
  });

  it("answers a list request it cannot honour with 400 JSON naming the problem", async () => {
    await createBucket("media");
    for (const body of [{}, { prefix: "", limit: 0 }, { prefix: "", offset: -1 }, { prefix: "", sortBy: { column: "size" } }, { prefix: "../x" }]) {
      const response = await call("POST", "/storage/v1/object/list/media", json(body));
      expect(response.status).toBe(400);
      expect(typeof response.json.message).toBe("string");
    }
  });
});
