import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { downloadToFile } from "../../shared/worker/worker-job-io.ts";

const chunked = (chunks: Uint8Array[], headers: Record<string, string> = {}): typeof fetch => async () =>
  new Response(
    new ReadableStream({
      start(controller) {
        chunks.forEach((chunk) => controller.enqueue(chunk));
        controller.close();
      },
    }),
    { headers },
  );

describe("render worker downloads", () => {
  let dir: string;
  const signal = new AbortController().signal;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "reelforge-download-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("streams an input to disk", async () => {
    const path = await downloadToFile(
      "https://storage.test/clip.mp4",
      dir,
      "clip.mp4",
      signal,
      chunked([new Uint8Array(64), new Uint8Array(64)]),
      150,
    );
    expect((await readFile(path)).byteLength).toBe(128);
  });

  it("refuses an input whose declared length is over the limit, without reading it", async () => {
    await expect(
      downloadToFile(
        "https://storage.test/big.mp4",
        dir,
        "big.mp4",
        signal,
        chunked([new Uint8Array(8)], { "content-length": "151" }),
        150,
      ),
    )
      .rejects.toMatchObject({ code: "input_too_large" });
  });

  it("stops an input that grows past the limit while streaming", async () => {
    await expect(
      downloadToFile(
        "https://storage.test/big.mp4",
        dir,
        "big.mp4",
        signal,
        chunked([new Uint8Array(64), new Uint8Array(64), new Uint8Array(64)]),
        150,
      ),
    )
      .rejects.toMatchObject({ code: "input_too_large" });
  });
});
