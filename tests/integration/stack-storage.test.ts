/**
 * The local stack's Storage over HTTP, as supabase-js and the project's code call it: buckets,
 * uploads (raw and multipart), downloads, listings, copy/move/remove, size and type limits, bucket
 * privacy and signed URLs — and the metadata rows it keeps in storage.objects.
 */
import { StorageClient } from "@supabase/storage-js";
import { afterAll, describe, expect, it } from "vitest";
import { signJwt } from "../../scripts/stack/jwt.ts";
import { connect, createUser, stackEnv } from "../support/stack.ts";

const env = stackEnv();
const run = crypto.randomUUID().slice(0, 8);
const publicBucket = `stack-storage-${run}-public`;
const privateBucket = `stack-storage-${run}-private`;
const storageUrl = `${env.API_URL}/storage/v1`;
const service = { authorization: `Bearer ${env.SERVICE_ROLE_KEY}`, apikey: env.SERVICE_ROLE_KEY };
const anon = { authorization: `Bearer ${env.ANON_KEY}`, apikey: env.ANON_KEY };
const storage = new StorageClient(storageUrl, service);
const sql = connect(1);
const encodePath = (path: string) => path.split("/").map(encodeURIComponent).join("/");

async function call(
  method: string,
  path: string,
  init: { body?: BodyInit; headers?: Record<string, string> } = {},
) {
  const response = await fetch(`${storageUrl}${path}`, {
    method,
    body: init.body,
    headers: { ...service, ...init.headers },
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  // deno-lint-ignore no-explicit-any -- a JSON answer the tests read field by field
  let json: any = null;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch { /* an object's bytes */ }
  return {
    status: response.status,
    headers: response.headers,
    json,
    text: new TextDecoder().decode(bytes),
    bytes,
  };
}

const json = (value: unknown, headers: Record<string, string> = {}) => ({
  body: JSON.stringify(value),
  headers: { "content-type": "application/json", ...headers },
});
const upload = (bucket: string, path: string, body: BodyInit, headers: Record<string, string> = {}) =>
  call("POST", `/object/${bucket}/${encodePath(path)}`, {
    body,
    headers: { "content-type": "text/plain", ...headers },
  });

async function createBucket(id: string, settings: Record<string, unknown> = {}) {
  const created = await call("POST", "/bucket", json({ id, name: id, ...settings }));
  expect(created).toMatchObject({ status: 200, json: { name: id } });
}

afterAll(async () => {
  const { data } = await storage.listBuckets();
  for (const bucket of data ?? []) {
    if (!bucket.id.startsWith(`stack-storage-${run}-`)) continue;
    await storage.emptyBucket(bucket.id);
    await storage.deleteBucket(bucket.id);
  }
  await sql.end();
});

describe("stack Storage buckets", () => {
  it("creates a bucket once, answers a duplicate as Storage does, and gets and lists it", async () => {
    await createBucket(publicBucket, { public: true });
    await createBucket(privateBucket, { public: false });
    expect(await call("POST", "/bucket", json({ id: privateBucket, name: privateBucket })))
      .toMatchObject({ status: 400, json: { statusCode: "409", error: "Duplicate" } });
    expect((await call("GET", `/bucket/${privateBucket}`)).json).toMatchObject({
      id: privateBucket,
      public: false,
      file_size_limit: null,
    });
    expect((await call("GET", "/bucket")).json.map((bucket: { id: string }) => bucket.id)).toEqual(
      expect.arrayContaining([publicBucket, privateBucket]),
    );
    expect(await call("GET", `/bucket/${privateBucket}-nope`)).toMatchObject({
      status: 400,
      json: { statusCode: "404", error: "Bucket not found" },
    });
    const { data, error } = await storage.getBucket(publicBucket);
    expect(error).toBeNull();
    expect(data).toMatchObject({ id: publicBucket, public: true });
  });

  it("lets only the service role manage buckets: anon sees none and may create none", async () => {
    expect(await call("GET", "/bucket", { headers: anon })).toMatchObject({ status: 200, json: [] });
    expect(await call("POST", "/bucket", json({ name: `stack-storage-${run}-anon` }, anon)))
      .toMatchObject({
        status: 400,
        json: {
          statusCode: "403",
          error: "Unauthorized",
          message: "new row violates row-level security policy",
        },
      });
    const noKey = await fetch(`${storageUrl}/bucket`);
    expect(noKey.status).toBe(400);
    await noKey.body?.cancel();
  });

  it("refuses to delete a bucket with objects, and deletes it once emptied", async () => {
    const bucket = `stack-storage-${run}-doomed`;
    await createBucket(bucket);
    await upload(bucket, "a.txt", "a");
    expect(await call("DELETE", `/bucket/${bucket}`)).toMatchObject({
      status: 400,
      json: { statusCode: "409" },
    });
    expect(await call("POST", `/bucket/${bucket}/empty`)).toMatchObject({ status: 200 });
    expect(await call("DELETE", `/bucket/${bucket}`)).toMatchObject({ status: 200 });
    expect(await call("GET", `/bucket/${bucket}`)).toMatchObject({ json: { statusCode: "404" } });
  });
});

describe("stack Storage objects", () => {
  // Every kind of character hosted Storage takes that a URL must encode.
  const name = "scenes/day 1 (final)/clip's take=1, ok?.txt";

  it("uploads, refuses a second upload without upsert, and replaces with x-upsert", async () => {
    const first = await upload(privateBucket, name, "first", { "cache-control": "max-age=60" });
    expect(first).toMatchObject({ status: 200, json: { Key: `${privateBucket}/${name}` } });
    expect(await upload(privateBucket, name, "second")).toMatchObject({
      status: 400,
      json: { statusCode: "409", error: "Duplicate" },
    });
    expect(await call("GET", `/object/authenticated/${privateBucket}/${encodePath(name)}`)).toMatchObject({
      text: "first",
    });
    const replaced = await upload(privateBucket, name, "second!", {
      "x-upsert": "true",
      "content-type": "text/csv",
    });
    expect(replaced).toMatchObject({ status: 200, json: { Id: first.json.Id } });

    const got = await call("GET", `/object/authenticated/${privateBucket}/${encodePath(name)}`);
    expect(got).toMatchObject({ status: 200, text: "second!" });
    expect(got.headers.get("content-type")).toBe("text/csv");
    expect(got.headers.get("cache-control")).toBe("no-cache");
  });

  it("refuses a key hosted Storage refuses (é, #, %, ~, an emoji) as it does, storing nothing", async () => {
    for (const key of ["scènes/a.txt", "clip #1.txt", "100%.txt", "~notes.txt", "film 🎬.txt"]) {
      expect(await upload(privateBucket, key, "x")).toMatchObject({
        status: 400,
        json: { statusCode: "400", code: "InvalidKey", message: `Invalid key: ${key}` },
      });
    }
    const stored = await sql`
      select name from storage.objects where bucket_id = ${privateBucket} and name !~ '^[A-Za-z0-9_/!.*''() &$@=;:+,?-]*$'`;
    expect(stored).toEqual([]);
  });

  it("keeps each object's metadata in storage.objects, as Storage does", async () => {
    const [row] = await sql`
      select id, metadata, path_tokens from storage.objects where bucket_id = ${privateBucket} and name = ${name}`;
    expect(row.metadata).toMatchObject({
      size: 7,
      mimetype: "text/csv",
      cacheControl: "no-cache",
      contentLength: 7,
      httpStatusCode: 200,
    });
    expect(row.metadata.eTag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(row.path_tokens).toEqual(["scenes", "day 1 (final)", "clip's take=1, ok?.txt"]);
  });

  it("serves a byte range of an object", async () => {
    const ranged = await call("GET", `/object/${privateBucket}/${encodePath(name)}`, {
      headers: { range: "bytes=1-3" },
    });
    expect(ranged).toMatchObject({ status: 206, text: "eco" });
    expect(ranged.headers.get("content-range")).toBe("bytes 1-3/7");
    expect(
      (await call("GET", `/object/${privateBucket}/${encodePath(name)}`, { headers: { range: "bytes=50-" } }))
        .status,
    ).toBe(416);
  });

  it("uploads a Blob through supabase-js (multipart/form-data) with its type and cache control", async () => {
    const { data, error } = await storage.from(publicBucket).upload(
      "blob/picture.png",
      new Blob([new Uint8Array([137, 80, 78, 71])], { type: "image/png" }),
      {
        cacheControl: "120",
      },
    );
    expect(error).toBeNull();
    expect(data).toMatchObject({ path: "blob/picture.png", fullPath: `${publicBucket}/blob/picture.png` });
    const downloaded = await storage.from(publicBucket).download("blob/picture.png");
    expect(new Uint8Array(await downloaded.data!.arrayBuffer())).toEqual(new Uint8Array([137, 80, 78, 71]));
    const publicRead = await fetch(
      storage.from(publicBucket).getPublicUrl("blob/picture.png").data.publicUrl,
    );
    expect(publicRead.status).toBe(200);
    expect(publicRead.headers.get("content-type")).toBe("image/png");
    expect(publicRead.headers.get("cache-control")).toBe("max-age=120");
    await publicRead.body?.cancel();
  });

  it("serves public buckets on the public route, and answers a private bucket's as a missing bucket", async () => {
    await upload(publicBucket, "open.txt", "open");
    const open = await fetch(`${storageUrl}/object/public/${publicBucket}/open.txt`);
    expect(await open.text()).toBe("open");
    const hidden = await fetch(`${storageUrl}/object/public/${privateBucket}/${encodePath(name)}`);
    expect(hidden.status).toBe(400);
    expect(await hidden.json()).toMatchObject({ statusCode: "404", error: "Bucket not found" });
  });

  it("hides private objects from anon and user tokens, and refuses their writes", async () => {
    const user = await createUser();
    for (const token of [env.ANON_KEY, user.token]) {
      const headers = { authorization: `Bearer ${token}`, apikey: env.ANON_KEY };
      expect(await call("GET", `/object/authenticated/${privateBucket}/${encodePath(name)}`, { headers }))
        .toMatchObject({ status: 400, json: { statusCode: "404", error: "not_found" } });
      expect(await upload(privateBucket, "intruder.txt", "x", headers)).toMatchObject({
        status: 400,
        json: { statusCode: "403" },
      });
    }
    expect(
      await call("GET", `/object/authenticated/${privateBucket}/${encodePath(name)}`, {
        headers: { authorization: "Bearer not.a.jwt" },
      }),
    )
      .toMatchObject({ status: 400, json: { statusCode: "403", error: "Unauthorized" } });
  });

  it("lists one folder: files with their metadata, sub-folders as entries without an id", async () => {
    await upload(privateBucket, "list/b.txt", "bb");
    await upload(privateBucket, "list/a.txt", "a");
    await upload(privateBucket, "list/sub/deep.txt", "deep");
    const { data, error } = await storage.from(privateBucket).list("list");
    expect(error).toBeNull();
    expect(data!.map((entry) => [entry.name, entry.id === null, entry.metadata?.size ?? null])).toEqual([
      ["a.txt", false, 1],
      ["b.txt", false, 2],
      ["sub", true, null],
    ]);
    const page = await call(
      "POST",
      `/object/list/${privateBucket}`,
      json({ prefix: "list/", limit: 1, offset: 1, sortBy: { column: "name", order: "desc" } }),
    );
    expect(page.json.map((entry: { name: string }) => entry.name)).toEqual(["b.txt"]);
  });

  it("copies and moves objects, refusing to move onto an existing one", async () => {
    const { error: copyError } = await storage.from(privateBucket).copy("list/a.txt", "copied/a.txt", {
      destinationBucket: publicBucket,
    });
    expect(copyError).toBeNull();
    expect((await call("GET", `/object/${publicBucket}/copied/a.txt`)).text).toBe("a");
    expect((await call("GET", `/object/${privateBucket}/list/a.txt`)).text).toBe("a");

    expect(await storage.from(privateBucket).move("list/b.txt", "moved/b.txt")).toMatchObject({
      error: null,
    });
    expect((await call("GET", `/object/${privateBucket}/moved/b.txt`)).text).toBe("bb");
    expect(await call("GET", `/object/${privateBucket}/list/b.txt`)).toMatchObject({
      json: { statusCode: "404" },
    });
    expect(
      await call(
        "POST",
        "/object/move",
        json({ bucketId: privateBucket, sourceKey: "moved/b.txt", destinationKey: "list/a.txt" }),
      ),
    )
      .toMatchObject({ status: 400, json: { statusCode: "409" } });
  });

  it("removes objects by path and answers the removed ones", async () => {
    const { data, error } = await storage.from(privateBucket).remove([
      "moved/b.txt",
      "list/sub/deep.txt",
      "never/was.txt",
    ]);
    expect(error).toBeNull();
    expect(data!.map((object) => object.name).sort()).toEqual(["list/sub/deep.txt", "moved/b.txt"]);
    expect(
      await sql`select name from storage.objects where bucket_id = ${privateBucket} and name in ('moved/b.txt', 'list/sub/deep.txt')`,
    ).toHaveLength(0);
    expect(await call("DELETE", `/object/${privateBucket}/list/a.txt`)).toMatchObject({ status: 200 });
    expect(await call("DELETE", `/object/${privateBucket}/list/a.txt`)).toMatchObject({
      json: { statusCode: "404" },
    });
  });
});

describe("stack Storage limits", () => {
  it("refuses an object over the bucket's file size limit, and takes one at it", async () => {
    const bucket = `stack-storage-${run}-small`;
    await createBucket(bucket, { file_size_limit: 10 });
    expect(await upload(bucket, "fits.txt", "0123456789")).toMatchObject({ status: 200 });
    expect(await upload(bucket, "big.txt", "0123456789a"))
      .toMatchObject({
        status: 400,
        json: {
          statusCode: "413",
          error: "Payload too large",
          message: "The object exceeded the maximum allowed size",
        },
      });
    expect(await sql`select 1 from storage.objects where bucket_id = ${bucket} and name = 'big.txt'`)
      .toHaveLength(0);
  });

  it("refuses an object over the project's limit (50 MB by default) in a bucket without its own", async () => {
    const limits = await (await fetch(`${env.API_URL}/_stack/limits`, { headers: service })).json();
    expect(limits.storageFileSizeLimitBytes).toBe(50 * 1024 * 1024);
    const tooBig = await upload(
      publicBucket,
      "huge.bin",
      new Uint8Array(limits.storageFileSizeLimitBytes + 1),
      { "content-type": "application/octet-stream" },
    );
    expect(tooBig).toMatchObject({ status: 400, json: { statusCode: "413" } });
  });

  it("refuses a content type the bucket does not allow", async () => {
    const bucket = `stack-storage-${run}-images`;
    await createBucket(bucket, { allowed_mime_types: ["image/*"] });
    expect(await upload(bucket, "a.png", "png", { "content-type": "image/png" })).toMatchObject({
      status: 200,
    });
    expect(await upload(bucket, "a.txt", "txt")).toMatchObject({
      status: 400,
      json: { statusCode: "415", error: "invalid_mime_type" },
    });
  });
});

describe("stack Storage signed URLs", () => {
  const path = "signed/report 1.csv";
  const objectUrl = (token: string, objectPath = path) =>
    `${storageUrl}/object/sign/${privateBucket}/${encodePath(objectPath)}?token=${token}`;

  it("serves a private object through a signed URL from supabase-js", async () => {
    await upload(privateBucket, path, "a,b\n1,2\n", { "content-type": "text/csv" });
    const { data, error } = await storage.from(privateBucket).createSignedUrl(path, 60);
    expect(error).toBeNull();
    const response = await fetch(data!.signedUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/csv");
    expect(await response.text()).toBe("a,b\n1,2\n");

    const many = await storage.from(privateBucket).createSignedUrls([path, "signed/missing.csv"], 60);
    expect(many.data!.map((entry) => [entry.path, entry.signedUrl !== null, entry.error])).toEqual([
      [path, true, null],
      ["signed/missing.csv", false, expect.any(String)],
    ]);
  });

  it("refuses an expired token, an altered one, and one signed for another path", async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await signJwt(
      { url: `${privateBucket}/${path}`, iat: now - 120, exp: now - 60 },
      env.JWT_SECRET,
    );
    const expiredResponse = await fetch(objectUrl(expired));
    expect(expiredResponse.status).toBe(400);
    expect(await expiredResponse.json()).toMatchObject({
      statusCode: "400",
      error: "InvalidJWT",
      message: "jwt expired",
    });

    const valid = await signJwt({ url: `${privateBucket}/${path}`, iat: now, exp: now + 60 }, env.JWT_SECRET);
    const [header, payload, signature] = valid.split(".");
    const forged = Buffer.from(JSON.stringify({ url: `${privateBucket}/${path}`, iat: now, exp: now + 3600 }))
      .toString("base64url");
    const altered = await fetch(objectUrl(`${header}.${forged}.${signature}`));
    expect(await altered.json()).toMatchObject({
      statusCode: "400",
      error: "InvalidJWT",
      message: "invalid signature",
    });

    const otherPath = await fetch(objectUrl(`${header}.${payload}.${signature}`, "signed/other.csv"));
    expect(otherPath.status).toBe(400);
    expect((await otherPath.json()).statusCode).toBe("400");
    const otherSecret = await fetch(
      objectUrl(await signJwt({ url: `${privateBucket}/${path}`, exp: now + 60 }, "x".repeat(40))),
    );
    expect(await otherSecret.json()).toMatchObject({ error: "InvalidJWT", message: "invalid signature" });

    const unsigned = await fetch(`${storageUrl}/object/public/${privateBucket}/${encodePath(path)}`);
    expect(unsigned.status).toBe(400);
    expect(await unsigned.json()).toMatchObject({ statusCode: "404" });
    expect((await fetch(objectUrl(valid))).status).toBe(200);
  });
});
