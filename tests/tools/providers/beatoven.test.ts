import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type BeatovenMusicOptions,
  createBeatovenMusic,
} from "../../../shared/providers/beatoven/beatoven-music.ts";
import type { MusicRequest } from "../../../shared/providers/types.ts";
import { type BeatovenFake, startBeatovenFake } from "../../fakes/beatoven-fake.ts";

const CREATE = "POST /api/v1/tracks/compose";

describe("beatoven music adapter against the Beatoven fake", () => {
  let fake: BeatovenFake;
  let waits: number[];
  const request: MusicRequest = { prompt: "melancholic cinematic strings, slow", durationSeconds: 90 };
  const music = (overrides: Partial<BeatovenMusicOptions> = {}) =>
    createBeatovenMusic({
      apiKey: "beatoven-test-key",
      model: "maestro",
      baseUrl: fake.baseUrl,
      allowInsecureUrls: true,
      sleep: async (ms) => void waits.push(ms),
      random: () => 1,
      ...overrides,
    });

  beforeEach(async () => {
    fake = await startBeatovenFake();
    waits = [];
  });
  afterEach(() => fake.close());

  it("composes with the duration in the prompt text and returns the track URL once composed", async () => {
    const provider = music();
    const jobId = await provider.submit(request);
    expect(fake.bodies[0]).toEqual({
      prompt: { text: "90 seconds melancholic cinematic strings, slow" },
      format: "mp3",
      looping: false,
    });
    expect((await provider.poll(jobId)).state).toBe("pending");
    expect((await provider.poll(jobId)).state).toBe("running");
    expect(await provider.poll(jobId)).toEqual({
      state: "succeeded",
      output: { url: fake.fileUrl("track.mp3"), contentType: "audio/mpeg" },
    });
  });

  it("treats composed without a track_url, and an unknown status, as failures", async () => {
    fake.nextTask({ phases: ["composed"], withoutTrackUrl: true });
    fake.nextTask({ phases: ["failed"] });
    const provider = music();
    expect(await provider.poll(await provider.submit(request))).toMatchObject({
      state: "failed",
      failureCode: "missing_output",
    });
    expect(await provider.poll(await provider.submit({ ...request, durationSeconds: 60 }))).toMatchObject({
      state: "failed",
      failureCode: "failed",
    });
  });

  it.each([
    ["an empty prompt", { prompt: "" }],
    ["a fractional duration", { durationSeconds: 12.5 }],
    ["a duration over 900 s", { durationSeconds: 901 }],
  ])("refuses %s before any call", async (_, change) => {
    await expect(music().submit({ ...request, ...change })).rejects.toMatchObject({
      status: 400,
      code: "invalid_provider_request",
    });
    expect(fake.hits(CREATE)).toBe(0);
  });

  it("does not resubmit a compose that timed out, and retries a 503 once it proves nothing started", async () => {
    fake.fault(CREATE, { delayMs: 300 });
    await expect(music({ timeoutMs: 100 }).submit(request)).rejects.toMatchObject({
      failureCode: "submit_outcome_unknown",
      retryable: false,
    });
    fake.fault(CREATE, { status: 503, retryAfter: 1 });
    await music().submit({ ...request, durationSeconds: 30 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(waits).toEqual([1_000]);
    expect(fake.submissions().maxPerInput).toBe(1);
  });

  it("asks for wav when configured", async () => {
    const provider = music({ format: "wav" });
    const jobId = await provider.submit(request);
    expect(fake.bodies[0].format).toBe("wav");
    await provider.poll(jobId);
    await provider.poll(jobId);
    expect(await provider.poll(jobId)).toMatchObject({ output: { contentType: "audio/wav" } });
  });

  it("sends the key as a Bearer token", async () => {
    await expect(music({ apiKey: "wrong" }).submit(request)).rejects.toMatchObject({
      provider: "beatoven",
      httpStatus: 401,
    });
  });
});
