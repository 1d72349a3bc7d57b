import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLocalStorage, type LocalStorage } from "../../shared/storage/local-storage.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array | null) => (data === null ? null : new TextDecoder().decode(data));

describe("local storage", () => {
  let dir: string;
  let storage: LocalStorage;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "reelforge-storage-"));
    storage = createLocalStorage({ dir, publicBaseUrl: "http://127.0.0.1:54321/storage/v1/object/public/" });
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("returns the bytes it was given on upload", async () => {
    await storage.upload("videos", "movie-1/scene 1.mp4", bytes("clip"), { contentType: "video/mp4" });
    expect(text(await storage.download("videos", "movie-1/scene 1.mp4"))).toBe("clip");
  });

  it("returns null for an object that was never uploaded", async () => {
    expect(await storage.download("videos", "missing.mp4")).toBeNull();
  });

  it("refuses to overwrite an existing object unless upsert is set", async () => {
    await storage.upload("images", "a.png", bytes("first"), { contentType: "image/png" });
    await expect(storage.upload("images", "a.png", bytes("second"), { contentType: "image/png" }))
      .rejects.toMatchObject({ code: "storage_object_exists", status: 409 });
    await storage.upload("images", "a.png", bytes("third"), { contentType: "image/png", upsert: true });
    expect(text(await storage.download("images", "a.png"))).toBe("third");
  });

  it("lets exactly one of many concurrent non-upsert uploads of the same path win", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => storage.upload("images", "race.png", bytes(`writer ${i}`), { contentType: "image/png" })),
    );
    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
    expect(text(await storage.download("images", "race.png"))).toMatch(/^writer \d+$/);
  });

  it("leaves no temporary files behind", async () => {
    await storage.upload("audio", "line.wav", bytes("a"), { contentType: "audio/wav" });
    await storage.upload("audio", "line.wav", bytes("b"), { contentType: "audio/wav", upsert: true });
    await storage.upload("audio", "line.wav", bytes("c"), { contentType: "audio/wav" }).catch(() => {});
    expect(await readdir(join(dir, "audio"))).toEqual(["line.wav"]);
  });

  it("removes objects and ignores ones that do not exist", async () => {
    await storage.upload("videos", "x.mp4", bytes("x"), { contentType: "video/mp4" });
    await storage.remove("videos", ["x.mp4", "never-there.mp4"]);
    expect(await storage.download("videos", "x.mp4")).toBeNull();
  });

  it("builds public URLs like Supabase's, with each path segment encoded", () => {
    expect(storage.publicUrl("videos", "movie 1/final cut.mp4"))
      .toBe("http://127.0.0.1:54321/storage/v1/object/public/videos/movie%201/final%20cut.mp4");
  });

  it("rejects paths that would escape the bucket", async () => {
    for (const path of ["../secrets.json", "a/../../b", "/etc/passwd", "a//b", ""]) {
      await expect(storage.upload("videos", path, bytes("x"), { contentType: "text/plain" }))
        .rejects.toMatchObject({ code: "invalid_storage_key", status: 400 });
    }
    await expect(storage.download("..", "x")).rejects.toMatchObject({ code: "invalid_storage_key" });
  });

  it("keeps the content type and cache control given on upload", async () => {
    await storage.upload("docs", "notes.bin", bytes("{}"), { contentType: "application/json", cacheControl: "60" });
    await storage.upload("docs", "raw.txt", bytes("x"), { contentType: "text/csv", cacheControl: "no-store" });
    await storage.upload("docs", "default.txt", bytes("x"), { contentType: "text/plain" });
    expect(await storage.listObjects("docs", { limit: 10 })).toEqual([
      { name: "default.txt", size: 1, contentType: "text/plain", cacheControl: "max-age=3600" },
      { name: "notes.bin", size: 2, contentType: "application/json", cacheControl: "max-age=60" },
      { name: "raw.txt", size: 1, contentType: "text/csv", cacheControl: "no-store" },
    ]);
  });

  it("takes the content type of a file stored without metadata from its extension", async () => {
    await mkdir(join(dir, "videos"), { recursive: true });
    await writeFile(join(dir, "videos", "by-hand.mp4"), "mp4");
    expect(await storage.listObjects("videos", { limit: 10 }))
      .toEqual([{ name: "by-hand.mp4", size: 3, contentType: "video/mp4", cacheControl: "no-cache" }]);
  });

  it("lists every folder deep in code point order, a page at a time after a cursor", async () => {
    const names = ["a-c", "a/b", "a/z/deep", "b", "é", "z/😀", "z/\uffff", "A"];
    for (const name of names) await storage.upload("media", name, bytes(name), { contentType: "text/plain" });
    const expected = ["A", "a-c", "a/b", "a/z/deep", "b", "z/\uffff", "z/😀", "é"];
    const pages: string[][] = [];
    for (let after: string | undefined;;) {
      const page = await storage.listObjects("media", { after, limit: 3 });
      if (page.length === 0) break;
      pages.push(page.map((object) => object.name));
      after = page[page.length - 1].name;
    }
    expect(pages).toEqual([expected.slice(0, 3), expected.slice(3, 6), expected.slice(6)]);
    expect((await storage.listObjects("media", { after: "a/b", limit: 2 })).map((o) => o.name)).toEqual(["a/z/deep", "b"]);
  });

  it("lists nothing for a bucket that does not exist and skips uploads in flight", async () => {
    expect(await storage.listObjects("nowhere", { limit: 10 })).toEqual([]);
    await mkdir(join(dir, "tmp"), { recursive: true });
    await writeFile(join(dir, "tmp", `clip.mp4.${crypto.randomUUID()}.tmp`), "partial");
    expect(await storage.listObjects("tmp", { limit: 10 })).toEqual([]);
  });

  it("streams an object's bytes with its size, and null for a missing one", async () => {
    const content = Uint8Array.from({ length: 200_000 }, (_, i) => i % 253);
    await storage.upload("videos", "big.mp4", content, { contentType: "video/mp4" });
    const opened = await storage.downloadStream("videos", "big.mp4");
    expect(opened?.size).toBe(200_000);
    expect(new Uint8Array(await new Response(opened!.body).arrayBuffer())).toEqual(content);
    expect(await storage.downloadStream("videos", "missing.mp4")).toBeNull();
  });

  it("uploads from a stream", async () => {
    const body = new Blob(["streamed ", "bytes"]).stream();
    await storage.upload("videos", "s.txt", body, { contentType: "text/plain" });
    expect(text(await storage.download("videos", "s.txt"))).toBe("streamed bytes");
  });

  it("lists buckets: created ones with their public flag, bare directories as public", async () => {
    expect(await storage.createBucket("private-one", { public: false })).toBe(true);
    expect(await storage.createBucket("private-one", { public: true })).toBe(false);
    await storage.upload("implicit", "a.txt", bytes("a"), { contentType: "text/plain" });
    expect(await storage.listBuckets()).toEqual([{ id: "implicit", public: true }, { id: "private-one", public: false }]);
    expect(await storage.createBucket("implicit", { public: false })).toBe(false);
  });

  it("removes an object's metadata with it", async () => {
    await storage.upload("docs", "a.txt", bytes("a"), { contentType: "text/csv" });
    await storage.remove("docs", ["a.txt"]);
    await writeFile(join(dir, "docs", "a.txt"), "again");
    expect((await storage.listObjects("docs", { limit: 1 }))[0].contentType).toBe("text/plain; charset=utf-8");
  });
});
