/**
 * The clone's storage phase end to end on the local stack: objects put into the stack's own
 * Storage through its API, read back as hosted projects read them (listings from storage.objects,
 * bytes from the Storage API), copied slice by slice through the gateway's Storage API into
 * another "project" (/_projects/<name>/), verified, and served by that project's public route.
 * The stack's storage is shared with other tests, so the source is narrowed to this test's buckets.
 */
import { rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { StorageClient } from "@supabase/storage-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyStorageStep, type StorageCursor, verifyStorage } from "../../shared/clone/clone-storage.ts";
import type { Sql } from "../../shared/db/client.ts";
import { cacheControlHeader, compareObjectNames, type ObjectStorage } from "../../shared/storage/storage.ts";
import { createSupabaseStorage } from "../../shared/storage/supabase-storage.ts";
import { lookupAllAddresses } from "../../shared/net/dns-lookup.ts";
import { createOutboundGuard } from "../../shared/net/outbound-guard.ts";
import { dropDatabaseInBackground } from "../support/clone-db.ts";
import { connect, stackEnv } from "../support/stack.ts";

const env = stackEnv();
const run = crypto.randomUUID().slice(0, 8);
const mediaBucket = `clone-src-${run}-media`;
const privateBucket = `clone-src-${run}-private`;
const projectName = `target-${run}`;
// The stack's target project is on loopback: a trusted network, as the stack's clone-database has it.
const guard = createOutboundGuard({ allowPrivate: true, resolve: lookupAllAddresses });
const target = {
  url: `${env.API_URL}/_projects/${projectName}`,
  serviceRoleKey: env.SERVICE_ROLE_KEY,
  guard,
};
const serviceHeaders = { authorization: `Bearer ${env.SERVICE_ROLE_KEY}`, apikey: env.SERVICE_ROLE_KEY };

const large = Uint8Array.from({ length: 5 * 1024 * 1024 + 123 }, (_, i) => (i * 7919) % 256);
const objects = [
  {
    bucket: mediaBucket,
    path: "scenes/day 1 (take=2), final.txt",
    body: new TextEncoder().encode("bonjour"),
    contentType: "text/plain; charset=utf-8",
    cacheControl: "no-cache",
  },
  {
    bucket: mediaBucket,
    path: "folder/nested/clip.mp4",
    body: new Uint8Array([0, 1, 2, 3]),
    contentType: "video/mp4",
    cacheControl: "31536000",
  },
  {
    bucket: mediaBucket,
    path: "large/master.mov",
    body: large,
    contentType: "video/quicktime",
    cacheControl: "86400",
  },
  {
    bucket: privateBucket,
    path: "report.csv",
    body: new TextEncoder().encode("a,b\n1,2\n"),
    contentType: "text/csv",
  },
  {
    bucket: privateBucket,
    path: "notes",
    body: new TextEncoder().encode("{}"),
    contentType: "application/json",
    cacheControl: "max-age=5, must-revalidate",
  },
];

const sourceSql = connect(2);
const stackStorage = createSupabaseStorage({
  supabaseUrl: env.API_URL,
  serviceRoleKey: env.SERVICE_ROLE_KEY,
  sql: sourceSql as unknown as Sql,
});
const source: ObjectStorage = {
  ...stackStorage,
  listBuckets: async () =>
    (await stackStorage.listBuckets()).filter((bucket) => bucket.id.startsWith(`clone-src-${run}-`)),
};
// storage-js alone: supabase-js's client cannot be built under Node 20 (no WebSocket for realtime).
const storageApi = new StorageClient(`${env.API_URL}/storage/v1`, serviceHeaders);

const encodePath = (path: string) => path.split("/").map(encodeURIComponent).join("/");

describe("storage clone into another project", () => {
  beforeAll(async () => {
    for (const [bucket, isPublic] of [[mediaBucket, true], [privateBucket, false]] as const) {
      expect((await storageApi.createBucket(bucket, { public: isPublic })).error).toBeNull();
    }
    for (const { bucket, path, body, contentType, cacheControl } of objects) {
      // The whole header, as shared/storage/supabase-storage.ts sends it (supabase-js would prefix max-age=).
      const { error } = await storageApi.from(bucket).upload(path, body, {
        contentType,
        headers: { "cache-control": cacheControlHeader(cacheControl) },
      });
      expect(error).toBeNull();
    }
  });

  afterAll(async () => {
    for (const bucket of [mediaBucket, privateBucket]) {
      await storageApi.emptyBucket(bucket);
      await storageApi.deleteBucket(bucket);
    }
    await sourceSql.end();
    // The target project: its bytes, and its database (the gateway's connections to it closed by force).
    await rm(join(dirname(env.STORAGE_DIR), "projects", projectName), { recursive: true, force: true });
    dropDatabaseInBackground(`reelforge_project_${projectName}`, stackEnv().ADMIN_DB_URL);
  });

  it("serves a source object's stored content type and cache control on the stack's public route", async () => {
    const response = await fetch(
      storageApi.from(mediaBucket).getPublicUrl("folder/nested/clip.mp4").data.publicUrl,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("video/mp4");
    expect(response.headers.get("cache-control")).toBe("max-age=31536000");
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(new Uint8Array([0, 1, 2, 3]));
    const hidden = await fetch(storageApi.from(privateBucket).getPublicUrl("report.csv").data.publicUrl);
    expect(hidden.status).toBe(400);
    expect(await hidden.json()).toMatchObject({ statusCode: "404", error: "Bucket not found" });
  });

  it("copies slice by slice from the checkpointed cursor, each object once, and verifies", async () => {
    let cursor: StorageCursor | null = null;
    let slices = 0;
    let saves = 0;
    for (let done = false; !done; slices++) {
      expect(slices).toBeLessThan(30);
      let units = 1; // one bucket or one object per slice
      const step = await copyStorageStep(
        source,
        target,
        cursor,
        { exhausted: () => units-- <= 0 },
        async () => {
          saves++;
        },
      );
      cursor = JSON.parse(JSON.stringify(step.cursor)) as StorageCursor;
      done = step.done;
    }
    expect(slices).toBe(7); // 2 buckets + 5 objects, one per slice
    expect(saves).toBe(7);
    expect(cursor).toMatchObject({
      bucketsCreated: [mediaBucket, privateBucket],
      objectsCopied: objects.length,
      bytesCopied: objects.reduce((sum, object) => sum + object.body.byteLength, 0),
    });
    expect(await verifyStorage(source, target)).toEqual([]);
  });

  it("serves the copied objects on the target's public route with their content type, cache control and bytes", async () => {
    const base = `${target.url}/storage/v1/object/public/${mediaBucket}`;
    const big = await fetch(`${base}/${encodePath("large/master.mov")}`);
    expect(big.status).toBe(200);
    expect(big.headers.get("content-type")).toBe("video/quicktime");
    expect(big.headers.get("cache-control")).toBe("max-age=86400");
    expect(Buffer.from(await big.arrayBuffer()).equals(Buffer.from(large))).toBe(true);

    const accented = await fetch(`${base}/${encodePath("scenes/day 1 (take=2), final.txt")}`);
    expect(accented.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await accented.text()).toBe("bonjour");

    const privateCopy = await fetch(`${target.url}/storage/v1/object/public/${privateBucket}/notes`);
    expect(privateCopy.status).toBe(400);
    await privateCopy.body?.cancel();
    const authenticated = await fetch(
      `${target.url}/storage/v1/object/authenticated/${privateBucket}/notes`,
      { headers: serviceHeaders },
    );
    expect(authenticated.headers.get("cache-control")).toBe("max-age=5, must-revalidate");
    expect(await authenticated.text()).toBe("{}");
  });

  it("keeps another project's buckets from the anon key, as RLS does on a new project", async () => {
    const anon = { authorization: `Bearer ${env.ANON_KEY}`, apikey: env.ANON_KEY };
    const listed = await fetch(`${target.url}/storage/v1/bucket`, { headers: anon });
    expect(await listed.json()).toEqual([]);
    const created = await fetch(`${target.url}/storage/v1/bucket`, {
      method: "POST",
      headers: { ...anon, "content-type": "application/json" },
      body: JSON.stringify({ name: `anon-${run}` }),
    });
    expect(await created.json()).toMatchObject({ statusCode: "403", error: "Unauthorized" });
  });
});

describe("hosted storage listing", () => {
  it("pages storage.objects in the same order LocalStorage lists, Postgres's C collation", async () => {
    const names = ["b", "a/z", "a-c", "é", "z/\uffff", "z/😀", "A", "a/b/c"];
    const sql = connect(1);
    const rollback = new Error("rollback");
    try {
      await sql.begin(async (tx) => {
        // Rows in the stack's real storage tables (postgres bypasses RLS, as on hosted), never committed.
        await tx`insert into storage.buckets (id, name, public) values (${`media-${run}`}, ${`media-${run}`}, true), (${`Docs-${run}`}, ${`Docs-${run}`}, false)`;
        for (const name of names) {
          await tx`insert into storage.objects (bucket_id, name, metadata) values (${`media-${run}`}, ${name}, ${
            tx.json({ size: name.length, mimetype: "text/plain", cacheControl: "max-age=3600" })
          })`;
        }
        const hosted = createSupabaseStorage({
          supabaseUrl: "http://127.0.0.1:1",
          serviceRoleKey: "unused",
          sql: tx as unknown as Sql,
        });
        const listed: string[] = [];
        for (let after: string | undefined = undefined;;) {
          const page = await hosted.listObjects(`media-${run}`, { after, limit: 3 });
          if (page.length === 0) break;
          listed.push(...page.map((object) => object.name));
          after = page[page.length - 1].name;
        }
        expect(listed).toEqual([...names].sort(compareObjectNames));
        expect((await hosted.listObjects(`media-${run}`, { limit: 1 }))[0]).toEqual({
          name: "A",
          size: 1,
          contentType: "text/plain",
          cacheControl: "max-age=3600",
        });
        expect((await hosted.listBuckets()).filter((bucket) => bucket.id.endsWith(`-${run}`)))
          .toEqual([{ id: `Docs-${run}`, public: false }, { id: `media-${run}`, public: true }]);
        throw rollback;
      });
    } catch (error) {
      if (error !== rollback) throw error;
    } finally {
      await sql.end();
    }
  });
});
