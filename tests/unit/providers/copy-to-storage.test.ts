import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { copyToStorage, type CopyToStorage } from "../../../shared/providers/copy-to-storage.ts";
import { createLocalStorage, type LocalStorage } from "../../../shared/storage/local-storage.ts";
import { fakeMedia } from "../../fakes/fake-media.ts";
import { type FakeServer, startFakeServer } from "../../fakes/fake-server.ts";

describe("copying a provider output into Storage", () => {
  let server: FakeServer;
  let dir: string;
  let storage: LocalStorage;
  const copy = (overrides: Partial<CopyToStorage>) =>
    copyToStorage({ provider: "runway", url: server.fileUrl("clip.mp4"), kind: "video", storage, bucket: "videos", path: "movie-1/scene-1.mp4", allowInsecureUrls: true, ...overrides });
  const streamed = (chunks: Uint8Array[], type = "video/mp4"): typeof fetch => async () =>
    new Response(new ReadableStream({ start(controller) { chunks.forEach((chunk) => controller.enqueue(chunk)); controller.close(); } }), { headers: { "content-type": type } });

  beforeEach(async () => {
    server = await startFakeServer();
    dir = await mkdtemp(join(tmpdir(), "reelforge-copy-"));
    storage = createLocalStorage({ dir, publicBaseUrl: "http://127.0.0.1:54321/storage/v1/object/public/" });
  });
  afterEach(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("streams the clip into the bucket and returns its public URL, type and size", async () => {
    const stored = await copy({});
    expect(stored).toEqual({ publicUrl: "http://127.0.0.1:54321/storage/v1/object/public/videos/movie-1/scene-1.mp4", contentType: "video/mp4", bytes: fakeMedia().mp4.byteLength });
    expect(await storage.download("videos", "movie-1/scene-1.mp4")).toEqual(fakeMedia().mp4);
  });

  it("refuses an output of the wrong media type and stores nothing", async () => {
    await expect(copy({ url: server.fileUrl("frame.png") })).rejects.toMatchObject({ provider: "runway", failureCode: "invalid_output", message: expect.stringContaining("image/png, not video") });
    expect(await storage.download("videos", "movie-1/scene-1.mp4")).toBeNull();
  });

  it("refuses an output whose declared length is over the limit", async () => {
    await expect(copy({ maxBytes: 100 })).rejects.toThrow(/over 100/);
  });

  it("stops a stream that grows past the limit without a declared length, leaving no object behind", async () => {
    const chunk = new Uint8Array(64);
    await expect(copy({ fetch: streamed([chunk, chunk, chunk]), maxBytes: 150 })).rejects.toMatchObject({ failureCode: "invalid_output" });
    expect(await storage.download("videos", "movie-1/scene-1.mp4")).toBeNull();
    expect((await readdir(join(dir, "videos", "movie-1"))).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  it("refuses an empty body", async () => {
    await expect(copy({ fetch: streamed([]) })).rejects.toMatchObject({ failureCode: "invalid_output", message: expect.stringContaining("empty") });
  });

  it("falls back to the path's type when the store serves octet-stream", async () => {
    const stored = await copy({ fetch: streamed([fakeMedia().mp4], "binary/octet-stream") });
    expect(stored.contentType).toBe("video/mp4");
  });

  it("reports an expired URL (404) as not retryable, a slow one as retryable", async () => {
    await expect(copy({ url: server.fileUrl("gone.mp4") })).rejects.toMatchObject({ httpStatus: 404, failureCode: "output_download_failed", retryable: false });
    server.route("GET /slow/clip.mp4", () => ({ headers: { "content-type": "video/mp4" }, body: "x" }));
    server.fault("GET /slow/clip.mp4", { delayMs: 400 });
    await expect(copy({ url: `${server.baseUrl}/slow/clip.mp4`, timeoutMs: 100 })).rejects.toMatchObject({ failureCode: "output_download_failed", retryable: true });
  });

  it("refuses plain http outside tests", async () => {
    await expect(copy({ allowInsecureUrls: false })).rejects.toMatchObject({ failureCode: "invalid_output_url" });
  });
});
