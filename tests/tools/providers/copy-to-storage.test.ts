import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CopyToStorage, copyToStorage } from "../../../shared/providers/copy-to-storage.ts";
import { createMemoryStorage, type MemoryStorage } from "../../fakes/memory-storage.ts";
import { fakeMedia } from "../../fakes/fake-media.ts";
import { type FakeServer, startFakeServer } from "../../fakes/fake-server.ts";

describe("copying a provider output into Storage", () => {
  let server: FakeServer;
  let storage: MemoryStorage;
  const copy = (overrides: Partial<CopyToStorage>) =>
    copyToStorage({
      provider: "runway",
      url: server.fileUrl("clip.mp4"),
      kind: "video",
      storage,
      bucket: "videos",
      path: "movie-1/scene-1.mp4",
      allowInsecureUrls: true,
      ...overrides,
    });
  const streamed = (chunks: Uint8Array[], type = "video/mp4"): typeof fetch => async () =>
    new Response(
      new ReadableStream({
        start(controller) {
          chunks.forEach((chunk) => controller.enqueue(chunk));
          controller.close();
        },
      }),
      { headers: { "content-type": type } },
    );

  beforeEach(async () => {
    server = await startFakeServer();
    storage = createMemoryStorage("http://127.0.0.1:54321");
  });
  afterEach(async () => {
    await server.close();
  });

  it("streams the clip into the bucket and returns its public URL, type and size", async () => {
    const stored = await copy({});
    expect(stored).toEqual({
      publicUrl: "http://127.0.0.1:54321/storage/v1/object/public/videos/movie-1/scene-1.mp4",
      contentType: "video/mp4",
      bytes: fakeMedia().mp4.byteLength,
    });
    expect(await storage.download("videos", "movie-1/scene-1.mp4")).toEqual(fakeMedia().mp4);
  });

  it("refuses an output of the wrong media type and stores nothing", async () => {
    await expect(copy({ url: server.fileUrl("frame.png") })).rejects.toMatchObject({
      provider: "runway",
      failureCode: "invalid_output",
      message: expect.stringContaining("image/png, not video"),
    });
    expect(await storage.download("videos", "movie-1/scene-1.mp4")).toBeNull();
  });

  it("refuses an output whose declared length is over the limit", async () => {
    await expect(copy({ maxBytes: 100 })).rejects.toThrow(/over 100/);
  });

  it("stops a stream that grows past the limit without a declared length, leaving no object behind", async () => {
    const chunk = new Uint8Array(64);
    await expect(copy({ fetch: streamed([chunk, chunk, chunk]), maxBytes: 150 })).rejects.toMatchObject({
      failureCode: "invalid_output",
    });
    expect(await storage.download("videos", "movie-1/scene-1.mp4")).toBeNull();
    expect(storage.objects.size).toBe(0);
  });

  it("refuses an empty body", async () => {
    await expect(copy({ fetch: streamed([]) })).rejects.toMatchObject({
      failureCode: "invalid_output",
      message: expect.stringContaining("empty"),
    });
  });

  it("falls back to the path's type when the store serves octet-stream", async () => {
    const stored = await copy({ fetch: streamed([fakeMedia().mp4], "binary/octet-stream") });
    expect(stored.contentType).toBe("video/mp4");
  });

  it("reports an expired URL (404) as not retryable, a slow one as retryable", async () => {
    await expect(copy({ url: server.fileUrl("gone.mp4") })).rejects.toMatchObject({
      httpStatus: 404,
      failureCode: "output_download_failed",
      retryable: false,
    });
    server.route("GET /slow/clip.mp4", () => ({ headers: { "content-type": "video/mp4" }, body: "x" }));
    server.fault("GET /slow/clip.mp4", { delayMs: 400 });
    await expect(copy({ url: `${server.baseUrl}/slow/clip.mp4`, timeoutMs: 100 })).rejects.toMatchObject({
      failureCode: "output_download_failed",
      retryable: true,
    });
  });

  it("refuses plain http outside tests", async () => {
    await expect(copy({ allowInsecureUrls: false })).rejects.toMatchObject({
      failureCode: "invalid_output_url",
    });
  });

  describe("where the output URL may lead", () => {
    const calls: string[] = [];
    /** A fetch that answers each URL from `answers` (a redirect target or media), recording the calls. */
    const answering = (answers: Record<string, string>): typeof fetch => async (input) => {
      const url = String(input);
      calls.push(url);
      const answer = answers[url];
      if (answer === undefined) throw new Error(`unexpected fetch ${url}`);
      if (answer.startsWith("redirect:")) {
        return new Response(null, { status: 302, headers: { location: answer.slice(9) } });
      }
      return new Response(fakeMedia().mp4, { headers: { "content-type": "video/mp4" } });
    };
    const resolve = async (host: string) => {
      const table: Record<string, string> = {
        "cdn.example.com": "93.184.215.14",
        "internal.example.com": "10.0.0.5",
      };
      if (!table[host]) throw new Error(`ENOTFOUND ${host}`);
      return [{ address: table[host], family: 4 }];
    };
    beforeEach(() => {
      calls.length = 0;
    });

    it("fetches an https output on a public host", async () => {
      const stored = await copy({
        url: "https://cdn.example.com/clip.mp4",
        allowInsecureUrls: false,
        resolve,
        fetch: answering({ "https://cdn.example.com/clip.mp4": "media" }),
      });
      expect(stored.bytes).toBe(fakeMedia().mp4.byteLength);
    });

    it("refuses a host that resolves to a private address without fetching it", async () => {
      await expect(
        copy({
          url: "https://internal.example.com/clip.mp4",
          allowInsecureUrls: false,
          resolve,
          fetch: answering({}),
        }),
      )
        .rejects.toMatchObject({
          failureCode: "invalid_output_url",
          retryable: false,
          message: expect.stringContaining("10.0.0.5"),
        });
      expect(calls).toEqual([]);
    });

    it("never fetches the metadata address, not even with local fakes allowed", async () => {
      await expect(copy({ url: "http://169.254.169.254/latest/meta-data/", resolve, fetch: answering({}) }))
        .rejects.toMatchObject({ failureCode: "invalid_output_url" });
      expect(calls).toEqual([]);
    });

    it("checks every redirect's destination before following it", async () => {
      const fetcher = answering({
        "https://cdn.example.com/a.mp4": "redirect:https://internal.example.com/b.mp4",
        "https://cdn.example.com/c.mp4": "redirect:/d.mp4",
        "https://cdn.example.com/d.mp4": "media",
      });
      await expect(
        copy({ url: "https://cdn.example.com/a.mp4", allowInsecureUrls: false, resolve, fetch: fetcher }),
      ).rejects.toMatchObject({ failureCode: "invalid_output_url" });
      expect(calls).toEqual(["https://cdn.example.com/a.mp4"]);
      const stored = await copy({
        url: "https://cdn.example.com/c.mp4",
        allowInsecureUrls: false,
        resolve,
        fetch: fetcher,
      });
      expect(stored.contentType).toBe("video/mp4");
      expect(calls.slice(1)).toEqual(["https://cdn.example.com/c.mp4", "https://cdn.example.com/d.mp4"]);
    });

    it("gives up after three redirects", async () => {
      const loop = answering({
        "https://cdn.example.com/loop.mp4": "redirect:https://cdn.example.com/loop.mp4",
      });
      await expect(
        copy({ url: "https://cdn.example.com/loop.mp4", allowInsecureUrls: false, resolve, fetch: loop }),
      ).rejects.toMatchObject({ failureCode: "output_download_failed", retryable: false });
      expect(calls).toHaveLength(4);
    });
  });
});
