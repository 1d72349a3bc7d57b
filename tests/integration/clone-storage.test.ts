/**
 * The clone's storage phase end to end on the local stack: objects put into the stack's own
 * Storage through its API (as functions do), copied slice by slice through the gateway's Storage API into
 * another "project" (/_projects/<name>/), verified, and served by that project's public route.
 * The stack's storage is shared with other tests, so the source is narrowed to this test's buckets.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyStorageStep, type StorageCursor, verifyStorage } from "../../shared/clone/clone-storage.ts";
import type { Sql } from "../../shared/db/client.ts";
import { compareObjectNames, type ObjectStorage } from "../../shared/storage/storage.ts";
import { createSupabaseStorage } from "../../shared/storage/supabase-storage.ts";
import { lookupAllAddresses } from "../../shared/net/dns-lookup.ts";
import { createOutboundGuard } from "../../shared/net/outbound-guard.ts";
import { connect, stackDir, stackEnv } from "../support/stack.ts";
import { ensureBucket, stackStorage } from "../support/stack-storage.ts";

const env = stackEnv();
const run = crypto.randomUUID().slice(0, 8);
const mediaBucket = `clone-src-${run}-media`;
const privateBucket = `clone-src-${run}-private`;
const projectName = `target-${run}`;
// The stack's target project is on loopback: a trusted network, as the stack's clone-database has it.
const guard = createOutboundGuard({ allowPrivate: true, resolve: lookupAllAddresses });
const target = { url: `${env.API_URL}/_projects/${projectName}`, serviceRoleKey: env.SERVICE_ROLE_KEY, guard };
const serviceHeaders = { authorization: `Bearer ${env.SERVICE_ROLE_KEY}`, apikey: env.SERVICE_ROLE_KEY };

const large = Uint8Array.from({ length: 5 * 1024 * 1024 + 123 }, (_, i) => (i * 7919) % 256);
const objects = [
  { bucket: mediaBucket, path: "scènes/été 🎬.txt", body: new TextEncoder().encode("bonjour"), contentType: "text/plain; charset=utf-8", cacheControl: "no-cache" },
  { bucket: mediaBucket, path: "folder/nested/clip.mp4", body: new Uint8Array([0, 1, 2, 3]), contentType: "video/mp4", cacheControl: "31536000" },
  { bucket: mediaBucket, path: "large/master.mov", body: large, contentType: "video/quicktime", cacheControl: "86400" },
  { bucket: privateBucket, path: "report.csv", body: new TextEncoder().encode("a,b\n1,2\n"), contentType: "text/csv" },
  { bucket: privateBucket, path: "notes", body: new TextEncoder().encode("{}"), contentType: "application/json", cacheControl: "max-age=5, must-revalidate" },
];

const sourceSql = connect(1);
const stackMedia = stackStorage(sourceSql);
const source: ObjectStorage = {
  ...stackMedia,
  listBuckets: async () => (await stackMedia.listBuckets()).filter((bucket) => bucket.id.startsWith(`clone-src-${run}-`)),
};

const encodePath = (path: string) => path.split("/").map(encodeURIComponent).join("/");

describe("storage clone into another project", () => {
  beforeAll(async () => {
    await ensureBucket(mediaBucket, { public: true });
    await ensureBucket(privateBucket);
    for (const { bucket, path, body, contentType, cacheControl } of objects) {
      await stackMedia.upload(bucket, path, body, { contentType, cacheControl });
    }
  });

  afterAll(async () => {
    for (const bucket of [mediaBucket, privateBucket]) {
      await stackMedia.remove(bucket, objects.filter((object) => object.bucket === bucket).map((object) => object.path));
      await (await fetch(`${env.API_URL}/storage/v1/bucket/${bucket}`, { method: "DELETE", headers: serviceHeaders })).body?.cancel();
    }
    await sourceSql.end();
    await rm(join(stackDir, "projects", projectName), { recursive: true, force: true });
  });

  it("serves a source object's stored content type and cache control on the stack's public route", async () => {
    const response = await fetch(stackMedia.publicUrl(mediaBucket, "folder/nested/clip.mp4"));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("video/mp4");
    expect(response.headers.get("cache-control")).toBe("max-age=31536000");
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(new Uint8Array([0, 1, 2, 3]));
    const hidden = await fetch(stackMedia.publicUrl(privateBucket, "report.csv"));
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
      const step = await copyStorageStep(source, target, cursor, { exhausted: () => units-- <= 0 }, async () => {
        saves++;
      });
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

    const accented = await fetch(`${base}/${encodePath("scènes/été 🎬.txt")}`);
    expect(accented.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await accented.text()).toBe("bonjour");

    const privateCopy = await fetch(`${target.url}/storage/v1/object/public/${privateBucket}/notes`);
    expect(privateCopy.status).toBe(400);
    await privateCopy.body?.cancel();
    const authenticated = await fetch(`${target.url}/storage/v1/object/authenticated/${privateBucket}/notes`, { headers: serviceHeaders });
    expect(authenticated.headers.get("cache-control")).toBe("max-age=5, must-revalidate");
    expect(await authenticated.text()).toBe("{}");
  });

  it("shows another project's buckets and private objects to no one without the service role key", async () => {
    // As on hosted: the anon role lists what RLS lets it see (no policies: nothing), and a
    // private object does not download.
    const anon = { authorization: `Bearer ${env.ANON_KEY}`, apikey: env.ANON_KEY };
    const buckets = await fetch(`${target.url}/storage/v1/bucket`, { headers: anon });
    expect(JSON.stringify(await buckets.json())).not.toContain(privateBucket);
    const object = await fetch(`${target.url}/storage/v1/object/authenticated/${privateBucket}/notes`, { headers: anon });
    expect(object.ok).toBe(false);
    expect(await object.text()).not.toBe("{}");
  });
});

describe("hosted storage listing", () => {
  it("pages storage.objects in code point order, Postgres's C collation", async () => {
    const names = ["b", "a/z", "a-c", "é", "z/\uffff", "z/😀", "A", "a/b/c"];
    const sql = connect(1);
    const rollback = new Error("rollback");
    try {
      await sql.begin(async (tx) => {
        // Rows in the stack's storage tables (as on hosted), never committed.
        const listedBucket = `listing-${run}`;
        await tx`insert into storage.buckets (id, name, public) values (${listedBucket}, ${listedBucket}, true)`;
        for (const name of names) {
          await tx`insert into storage.objects (bucket_id, name, metadata) values (${listedBucket}, ${name}, ${tx.json({ size: name.length, mimetype: "text/plain", cacheControl: "max-age=3600" })})`;
        }
        const hosted = createSupabaseStorage({ supabaseUrl: "http://127.0.0.1:1", serviceRoleKey: "unused", sql: tx as unknown as Sql });
        const listed: string[] = [];
        for (let after: string | undefined;;) {
          const page = await hosted.listObjects(listedBucket, { after, limit: 3 });
          if (page.length === 0) break;
          listed.push(...page.map((object) => object.name));
          after = page[page.length - 1].name;
        }
        expect(listed).toEqual([...names].sort(compareObjectNames));
        expect((await hosted.listObjects(listedBucket, { limit: 1 }))[0]).toEqual({ name: "A", size: 1, contentType: "text/plain", cacheControl: "max-age=3600" });
        const buckets = await hosted.listBuckets();
        expect(buckets).toContainEqual({ id: listedBucket, public: true });
        expect(buckets.map((bucket) => bucket.id)).toEqual(buckets.map((bucket) => bucket.id).sort(compareObjectNames));
        throw rollback;
      });
    } catch (error) {
      if (error !== rollback) throw error;
    } finally {
      await sql.end();
    }
  });
});
