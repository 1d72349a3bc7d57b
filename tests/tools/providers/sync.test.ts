import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ProviderInputError } from "../../../shared/providers/provider-errors.ts";
import { createSyncLipsync, type SyncLipsyncOptions } from "../../../shared/providers/sync/sync-lipsync.ts";
import type { LipsyncRequest } from "../../../shared/providers/types.ts";
import { startSyncFake, type SyncFake } from "../../fakes/sync-fake.ts";

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
