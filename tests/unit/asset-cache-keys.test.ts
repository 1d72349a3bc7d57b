import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../shared/crypto/content-hash.ts";
import {
  audioCacheKey,
  contentHash,
  llmCacheKey,
  storageKeyOf,
  videoCacheKey,
} from "../../shared/caches/asset-cache.ts";

const line = {
  text: "Hold the light steady.",
  voiceId: "voice-ana",
  provider: "elevenlabs",
  model: "eleven_flash_v2_5",
};
const clip = {
  prompt: "A harbour at night",
  referenceImageUrl: "http://x/ref.png",
  provider: "runway",
  model: "gen4.5",
  ratio: "1280:720",
  durationSeconds: 5,
};

describe("content-hash cache keys", () => {
  it("write objects with sorted keys at every depth", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}',
    );
  });

  it("hash the same inputs the same whatever their key order", async () => {
    const reordered = { model: line.model, provider: line.provider, voiceId: line.voiceId, text: line.text };
    expect(await audioCacheKey(reordered)).toBe(await audioCacheKey(line));
    expect(await audioCacheKey(line)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("change with every input that changes the output", async () => {
    const base = await audioCacheKey(line);
    for (
      const changed of [{ text: "Hold it." }, { voiceId: "voice-bo" }, { model: "eleven_v3" }, {
        provider: "local",
      }]
    ) {
      expect(await audioCacheKey({ ...line, ...changed })).not.toBe(base);
    }
    expect(await audioCacheKey({ ...line, settings: { stability: 0.3 } })).not.toBe(base);
    const video = await videoCacheKey(clip);
    for (
      const changed of [{ prompt: "B" }, { referenceImageUrl: null }, { model: "gen4_turbo" }, {
        ratio: "720:1280",
      }, { durationSeconds: 10 }]
    ) {
      expect(await videoCacheKey({ ...clip, ...changed })).not.toBe(video);
    }
  });

  it("leave the pipeline's clip key as it was when no seed is set, and change with a seed", async () => {
    const video = await videoCacheKey(clip);
    expect(await videoCacheKey({ ...clip, seed: undefined })).toBe(video);
    // The key the pipeline has always written: the six inputs and nothing else.
    expect(await contentHash("video", { ...clip })).toBe(video);
    expect(await videoCacheKey({ ...clip, seed: 1 })).not.toBe(video);
    expect(await videoCacheKey({ ...clip, seed: 1 })).not.toBe(await videoCacheKey({ ...clip, seed: 2 }));
  });

  it("never share a key between two caches", async () => {
    const llm = { provider: "openai", model: "gpt", name: "screenplay", system: "s", user: "u" };
    expect(await llmCacheKey(llm)).not.toBe(await llmCacheKey({ ...llm, model: "gpt-2" }));
    expect(await llmCacheKey(llm)).not.toBe(await audioCacheKey(line));
    const image = { prompt: "p", width: 512, height: 512, provider: "fal", model: "m" };
    expect(await contentHash("cover", image)).not.toBe(await contentHash("image", image));
  });

  it("find the storage key of our own public URLs only", () => {
    const publicUrl = (bucket: string, path: string) =>
      `http://127.0.0.1:54321/storage/v1/object/public/${bucket}/${path}`;
    expect(storageKeyOf(publicUrl, "media", publicUrl("media", "films/u/m/scene-1.mp4"))).toBe(
      "films/u/m/scene-1.mp4",
    );
    expect(storageKeyOf(publicUrl, "media", "https://cdn.runway.example/clip.mp4")).toBeNull();
    expect(storageKeyOf(publicUrl, "media", `${publicUrl("media", "films/u/m/scene%201.mp4")}?v=3`)).toBe(
      "films/u/m/scene 1.mp4",
    );
  });
});
