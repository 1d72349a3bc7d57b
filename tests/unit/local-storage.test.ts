import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLocalStorage } from "../../shared/storage/local-storage.ts";
import type { ObjectStorage } from "../../shared/storage/storage.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array | null) => (data === null ? null : new TextDecoder().decode(data));

describe("local storage", () => {
  let dir: string;
  let storage: ObjectStorage;

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
});
