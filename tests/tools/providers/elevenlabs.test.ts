import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createElevenLabsVoice,
  type ElevenLabsVoiceOptions,
} from "../../../shared/providers/elevenlabs/elevenlabs-voice.ts";
import { ProviderError, ProviderInputError } from "../../../shared/providers/provider-errors.ts";
import type { SpeechRequest } from "../../../shared/providers/types.ts";
import { fakeMedia } from "../../fakes/fake-media.ts";
import {
  elevenLabs429,
  type ElevenLabsFake,
  startElevenLabsFake,
  TTS_ROUTE,
} from "../../fakes/elevenlabs-fake.ts";

describe("elevenlabs voice adapter against the ElevenLabs fake", () => {
  let fake: ElevenLabsFake;
  let waits: number[];
  const line: SpeechRequest = { voiceId: "21m00Tcm4TlvDq8ikWAM", text: "The light must stay lit." };
  const voice = (overrides: Partial<ElevenLabsVoiceOptions> = {}) =>
    createElevenLabsVoice({
      apiKey: "elevenlabs-test-key",
      model: "eleven_multilingual_v2",
      baseUrl: fake.baseUrl,
      sleep: async (ms) => void waits.push(ms),
      random: () => 1,
      ...overrides,
    });

  beforeEach(async () => {
    fake = await startElevenLabsFake();
    waits = [];
  });
  afterEach(() => fake.close());

  it("returns the MP3 bytes, the character alignment, its duration and the request id", async () => {
    const result = await voice().speak(line);
    expect(result.audio).toEqual(fakeMedia().mp3);
    expect(result.contentType).toBe("audio/mpeg");
    expect(result.requestId).toBe(fake.requests[0].requestId);
    expect(result.alignment?.characters.join("")).toBe(line.text);
    expect(result.alignment?.characterStartTimesSeconds[1]).toBe(0.06);
    expect(result.durationSeconds).toBeCloseTo(line.text.length * 0.06, 3);
    expect(fake.requests[0]).toMatchObject({
      voiceId: line.voiceId,
      body: { text: line.text, model_id: "eleven_multilingual_v2" },
    });
  });

  it("stitches a regenerated line to its neighbours by their request ids", async () => {
    const before = await voice().speak({ ...line, text: "Who's there?" });
    const after = await voice().speak({ ...line, text: "Only the sea." });
    const regenerated = await voice().speak({
      ...line,
      previousRequestIds: [before.requestId!],
      nextRequestIds: [after.requestId!],
    });
    expect(fake.requests[2].body).toMatchObject({
      previous_request_ids: [before.requestId],
      next_request_ids: [after.requestId],
    });
    expect(regenerated.requestId).not.toBe(before.requestId);
  });

  it.each([
    [
      "stitching on eleven_v3",
      { model: "eleven_v3" },
      { previousRequestIds: ["abc"] },
      /does not support request stitching/,
    ],
    ["more than 3 previous ids", {}, { previousRequestIds: ["a", "b", "c", "d"] }, /at most 3/],
    ["empty text", {}, { text: "  " }, /text is empty/],
    ["text over the model's limit", { model: "eleven_v3" }, { text: "x".repeat(5001) }, /over 5000/],
    ["an unknown model", { model: "eleven_monolingual_v1" }, {}, /unknown model/],
    [
      "a speed under 0.7",
      {},
      { voiceSettings: { speed: 0.5 } },
      /voiceSettings.speed must be a number in 0.7..1.2/,
    ],
    [
      "a stability over 1",
      {},
      { voiceSettings: { stability: 1.1 } },
      /voiceSettings.stability must be a number in 0..1/,
    ],
    ["a seed that is not a whole number", {}, { seed: 0.5 }, /seed must be an integer/],
  ])("refuses %s before any call", async (_, options, change, message) => {
    const error = await voice(options).speak({ ...line, ...change }).catch((e) => e);
    expect(error).toBeInstanceOf(ProviderInputError);
    expect(error.message).toMatch(message);
    expect(fake.hits(TTS_ROUTE)).toBe(0);
  });

  it("sends voice settings as voice_settings and the seed, which the fake checks against the documented ranges", async () => {
    await voice().speak({
      ...line,
      voiceSettings: { stability: 0.2, similarityBoost: 1, style: 0, speed: 1.2 },
      seed: 4294967295,
    });
    expect(fake.requests[0].body).toMatchObject({
      voice_settings: { stability: 0.2, similarity_boost: 1, style: 0, speed: 1.2 },
      seed: 4294967295,
    });
    await voice().speak(line);
    expect(fake.requests[1].body).not.toHaveProperty("voice_settings");
    expect(fake.requests[1].body).not.toHaveProperty("seed");
    const raw = await fetch(
      `${fake.baseUrl}/v1/text-to-speech/${line.voiceId}/with-timestamps?output_format=mp3_44100_128`,
      {
        method: "POST",
        headers: { "xi-api-key": "elevenlabs-test-key", "content-type": "application/json" },
        body: JSON.stringify({ text: "x", model_id: "eleven_multilingual_v2", voice_settings: { speed: 2 } }),
      },
    );
    expect(raw.status).toBe(400);
  });

  it("waits briefly and flatly while the plan's concurrency is full (a queue), then speaks", async () => {
    fake.fault(
      TTS_ROUTE,
      elevenLabs429("too_many_concurrent_requests"),
      elevenLabs429("too_many_concurrent_requests"),
      elevenLabs429("too_many_concurrent_requests"),
    );
    await voice({ queueWaitMs: 250 }).speak(line);
    expect(waits).toEqual([250, 250, 250]);
    expect(fake.submissions()).toEqual({ total: 1, maxPerInput: 1, inputs: 1 });
  });

  it("backs off longer and doubling while ElevenLabs is busy", async () => {
    fake.fault(TTS_ROUTE, elevenLabs429("system_busy"), elevenLabs429("system_busy"));
    await voice({ busyBackoffMs: 2_000 }).speak(line);
    expect(waits).toEqual([2_000, 4_000]);
  });

  it("honours Retry-After on a busy 429", async () => {
    fake.fault(TTS_ROUTE, elevenLabs429("system_busy", 7));
    await voice().speak(line);
    expect(waits).toEqual([7_000]);
  });

  it("gives up with the 429's own code once the attempts are spent", async () => {
    fake.fault(TTS_ROUTE, ...Array.from({ length: 3 }, () => elevenLabs429("system_busy")));
    const error = await voice({ retry: { maxAttempts: 3 } }).speak(line).catch((e) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({
      provider: "elevenlabs",
      httpStatus: 429,
      failureCode: "system_busy",
      retryable: true,
    });
  });

  it("reports ElevenLabs' own code on a refused request", async () => {
    const error = await voice().speak({ ...line, previousRequestIds: ["never-issued"] }).catch((e) => e);
    expect(error).toMatchObject({
      httpStatus: 400,
      failureCode: "invalid_request",
      retryable: false,
      message: expect.stringContaining("unknown request id"),
    });
  });

  it("retries a 500 (nothing was billed)", async () => {
    fake.fault(TTS_ROUTE, { status: 500 });
    await voice().speak(line);
    expect(fake.hits(TTS_ROUTE)).toBe(2);
    expect(waits).toEqual([500]);
  });

  it("never re-sends a line that timed out: it may have been made and billed", async () => {
    fake.fault(TTS_ROUTE, { delayMs: 300 });
    const error = await voice({ timeoutMs: 100 }).speak(line).catch((e) => e);
    expect(error).toMatchObject({ failureCode: "submit_outcome_unknown", retryable: false });
    expect(fake.hits(TTS_ROUTE)).toBe(1);
    expect(waits).toEqual([]);
  });

  it("sends the key as xi-api-key", async () => {
    await expect(voice({ apiKey: "wrong" }).speak(line)).rejects.toMatchObject({ httpStatus: 401 });
  });
});
