import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { mp4TrackKinds } from "../../../shared/media/mp4-tracks.ts";
import { ProviderInputError } from "../../../shared/providers/provider-errors.ts";
import { createSyncLipsync, type SyncLipsyncOptions } from "../../../shared/providers/sync/sync-lipsync.ts";
import type { LipsyncRequest } from "../../../shared/providers/types.ts";
import { clipOfSeconds, toneOfSeconds } from "../../fakes/fake-media.ts";
import { startSyncFake, type SyncFake } from "../../fakes/sync-fake.ts";
import { maxVolumeDb } from "../../support/render-media.ts";

const CREATE = "POST /v2/generate";

describe("sync.so lip sync adapter against the sync.so fake", () => {
  let fake: SyncFake;
  let waits: number[];
  let request: LipsyncRequest;
  const lipsync = (overrides: Partial<SyncLipsyncOptions> = {}) =>
    createSyncLipsync({
      apiKey: "sync-test-key",
      model: "lipsync-2",
      baseUrl: fake.baseUrl,
      allowInsecureUrls: true,
      sleep: async (ms) => void waits.push(ms),
      random: () => 1,
      ...overrides,
    });

  beforeEach(async () => {
    fake = await startSyncFake();
    waits = [];
    request = { videoUrl: fake.fileUrl("clip.mp4"), audioUrl: fake.fileUrl("line.mp3") };
  });
  afterEach(() => fake.close());

  it("submits one video and one audio input and returns the synced clip once COMPLETED", async () => {
    const provider = lipsync({ syncMode: "bounce" });
    const jobId = await provider.submit(request);
    expect(fake.bodies[0]).toEqual({
      model: "lipsync-2",
      input: [{ type: "video", url: request.videoUrl }, { type: "audio", url: request.audioUrl }],
      options: { sync_mode: "bounce" },
    });
    expect((await provider.poll(jobId)).state).toBe("pending");
    expect((await provider.poll(jobId)).state).toBe("running");
    expect(await provider.poll(jobId)).toEqual({
      state: "succeeded",
      output: { url: fake.fileUrl("clip.mp4"), contentType: "video/mp4" },
    });
  });

  it.each(
    [
      ["FAILED", "lipsync_face_not_found", "No face detected"],
      ["REJECTED", undefined, "Input rejected by moderation"],
      ["CANCELED", undefined, "Cancelled by user"],
    ] as const,
  )("reports %s with the error code and message", async (status, errorCode, error) => {
    fake.nextGeneration({ phases: [status], error, errorCode });
    const provider = lipsync();
    expect(await provider.poll(await provider.submit(request))).toEqual({
      state: "failed",
      failureCode: errorCode ?? status,
      message: error,
    });
  });

  it("treats COMPLETED without an outputUrl as a failure", async () => {
    fake.nextGeneration({ phases: ["COMPLETED"], withoutOutput: true });
    const provider = lipsync();
    expect(await provider.poll(await provider.submit(request))).toMatchObject({
      state: "failed",
      failureCode: "missing_output",
    });
  });

  it("checks both inputs before paying: the audio must be audio", async () => {
    await expect(lipsync().submit({ ...request, audioUrl: fake.fileUrl("clip.mp4") })).rejects.toThrow(
      /serves video\/mp4, not audio/,
    );
    await expect(lipsync({ allowInsecureUrls: false }).submit(request)).rejects.toBeInstanceOf(
      ProviderInputError,
    );
    expect(() => lipsync({ model: "lipsync-0" }).validate(request)).toThrow(/unknown model/);
    expect(fake.hits(CREATE)).toBe(0);
  });

  it("retries a create whose answer was lost under the same Idempotency-Key, so it is paid once", async () => {
    fake.fault(CREATE, { delayMs: 300 });
    const jobId = await lipsync({ timeoutMs: 100 }).submit(request);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fake.hits(CREATE)).toBe(2);
    expect(fake.submissions()).toEqual({ total: 1, maxPerInput: 1, inputs: 1 });
    expect((await lipsync().poll(jobId)).state).not.toBe("failed");
  });

  it("retries a 429 honouring Retry-After", async () => {
    fake.fault(CREATE, { status: 429, retryAfter: 4 });
    await lipsync().submit(request);
    expect(waits).toEqual([4_000]);
    expect(fake.submissions().total).toBe(1);
  });

  it("reports a refused key with provider and status", async () => {
    await expect(lipsync({ apiKey: "wrong" }).submit(request)).rejects.toMatchObject({
      provider: "sync",
      httpStatus: 401,
      failureCode: "unauthorized",
    });
  });
});

/** Seconds of a file's first stream of `kind` as ffprobe reads it; null when it has none. */
function streamSeconds(file: string, kind: "a" | "v"): number | null {
  const out = execFileSync("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    `${kind}:0`,
    "-show_entries",
    "stream=duration",
    "-of",
    "csv=p=0",
    file,
  ]).toString().trim();
  return out === "" ? null : Number(out);
}

describe("the sync.so fake's real outputs: the input video with the input audio as its sound", () => {
  const dir = mkdtempSync(join(tmpdir(), "reelforge-sync-fake-"));
  let fake: SyncFake;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    fake = await startSyncFake();
    fake.configure({ realOutputs: true });
    // A 3 s clip with no sound (as Runway's are) and lines shorter and longer than it.
    fake.serveFile("scene.mp4", "video/mp4", () => clipOfSeconds(3));
    fake.serveFile("short.mp3", "audio/mpeg", () => toneOfSeconds(1.5));
    fake.serveFile("long.mp3", "audio/mpeg", () => toneOfSeconds(5));
  });
  afterEach(() => fake.close());

  const synced = async (audio: string, syncMode?: SyncLipsyncOptions["syncMode"], name = "out.mp4") => {
    const provider = createSyncLipsync({
      apiKey: "sync-test-key",
      model: "lipsync-2",
      baseUrl: fake.baseUrl,
      allowInsecureUrls: true,
      syncMode,
    });
    const jobId = await provider.submit({
      videoUrl: fake.fileUrl("scene.mp4"),
      audioUrl: fake.fileUrl(audio),
    });
    let state = await provider.poll(jobId);
    while (state.state !== "succeeded" && state.state !== "failed") state = await provider.poll(jobId);
    if (state.state !== "succeeded") throw new Error(`generation ${state.state}`);
    const response = await fetch(state.output.url);
    const file = join(dir, name);
    writeFileSync(file, new Uint8Array(await response.arrayBuffer()));
    return file;
  };

  it.each(
    [
      // [mode, line, seconds] against the 3 s clip: cut_off (the adapter's default) the shorter
      // input, silence the longer, loop/bounce/remap the audio's.
      ["default", "short.mp3", 1.5],
      ["cut_off", "long.mp3", 3],
      ["silence", "short.mp3", 3],
      ["silence", "long.mp3", 5],
      ["loop", "long.mp3", 5],
      ["bounce", "long.mp3", 5],
      ["remap", "long.mp3", 5],
    ] as const,
  )(
    "sync_mode %s with %s: picture and sound (the line's, audible) both last the mode's length",
    async (mode, audio, seconds) => {
      const file = await synced(audio, mode === "default" ? undefined : mode);
      expect(streamSeconds(file, "a")).toBeCloseTo(seconds, 1);
      expect(streamSeconds(file, "v")).toBeCloseTo(seconds, 1);
      expect(maxVolumeDb(file)).toBeGreaterThan(-20);
    },
  );

  it("is what the product's track check reads as picture and sound", async () => {
    const file = await synced("short.mp3");
    const stream = new Response(readFileSync(file)).body!;
    expect((await mp4TrackKinds(stream))?.sort()).toEqual(["soun", "vide"]);
  });

  it("scripted silent, is the input video without sound", async () => {
    fake.nextGeneration({ silent: true });
    const file = await synced("short.mp3");
    expect(streamSeconds(file, "a")).toBeNull();
    expect(streamSeconds(file, "v")).toBeCloseTo(3, 1);
  });

  it("refuses a sync_mode sync.so does not have", async () => {
    const response = await fetch(`${fake.baseUrl}/v2/generate`, {
      method: "POST",
      headers: { "x-api-key": "sync-test-key", "content-type": "application/json" },
      body: JSON.stringify({
        model: "lipsync-2",
        input: [{ type: "video", url: fake.fileUrl("scene.mp4") }, {
          type: "audio",
          url: fake.fileUrl("short.mp3"),
        }],
        options: { sync_mode: "stretch" },
      }),
    });
    expect(response.status).toBe(400);
  });
});
