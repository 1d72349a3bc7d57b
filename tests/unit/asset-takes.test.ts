/**
 * A new take (shared/assets/asset-take.ts) and the continuity chain (asset-continuity.ts): which
 * take a regenerate run asks for, and which scenes a new clip leaves stale.
 */
import { describe, expect, it } from "vitest";
import { chooseTake, MAX_SEED, providerTakesSeed, randomSeed } from "../../shared/assets/asset-take.ts";
import { continuationsOf, directContinuationsOf } from "../../shared/assets/asset-continuity.ts";
import { llmCacheKey, videoCacheKey } from "../../shared/caches/asset-cache.ts";

describe("the take of a regenerate run", () => {
  it("keeps a pinned seed: the same draft and seed is the same take", () => {
    expect(chooseTake(7, true, () => 99)).toEqual({ seed: 7 });
  });

  it("draws a fresh seed when the provider takes one", () => {
    expect(chooseTake(undefined, true, () => 99)).toEqual({ seed: 99 });
  });

  it("draws a take number, never a seed, when the provider takes none", () => {
    expect(chooseTake(undefined, false, () => 42)).toEqual({ take: 42 });
  });

  it("draws different seeds run after run, in the providers' range", () => {
    const seeds = new Set(Array.from({ length: 20 }, () => chooseTake(undefined, true).seed!));
    expect(seeds.size).toBeGreaterThan(1);
    for (const seed of [...seeds, randomSeed()]) {
      expect(Number.isInteger(seed) && seed >= 0 && seed <= MAX_SEED).toBe(true);
    }
  });

  it("knows which models put a seed on the wire", () => {
    expect(providerTakesSeed("video", "runway", "gen4_turbo")).toBe(true);
    expect(providerTakesSeed("video", "runway", "veo3")).toBe(false);
    expect(providerTakesSeed("image", "fal", "fal-ai/flux/schnell")).toBe(true);
    expect(providerTakesSeed("audio", "elevenlabs", "eleven_multilingual_v2")).toBe(true);
    expect(providerTakesSeed("music", "beatoven", "maestro")).toBe(false);
    expect(providerTakesSeed("video", "local", "local")).toBe(false);
  });

  it("keys a take number into the caches, and leaves the pipeline's keys as they were", async () => {
    const clip = {
      prompt: "fog",
      referenceImageUrl: null,
      provider: "runway",
      model: "veo3",
      ratio: "1280:720",
      durationSeconds: 8,
    };
    expect(await videoCacheKey({ ...clip, take: undefined })).toBe(await videoCacheKey(clip));
    expect(await videoCacheKey({ ...clip, take: 1 })).not.toBe(await videoCacheKey(clip));
    expect(await videoCacheKey({ ...clip, take: 1 })).not.toBe(await videoCacheKey({ ...clip, take: 2 }));
    const question = { provider: "openai", model: "gpt", name: "screenplay", system: "s", user: "u" };
    expect(await llmCacheKey({ ...question, take: 2 })).not.toBe(await llmCacheKey(question));
  });
});

describe("the scenes a new clip leaves stale", () => {
  // 1 → 2 → 3 is one chain, 4 stands alone, 5 continues from 4, 6 also from 2.
  const links = [
    { number: 1, continuesFrom: null },
    { number: 2, continuesFrom: 1 },
    { number: 3, continuesFrom: 2 },
    { number: 4, continuesFrom: null },
    { number: 5, continuesFrom: 4 },
    { number: 6, continuesFrom: 2 },
  ];

  it("follows the chain transitively from the scene", () => {
    expect(continuationsOf(links, 1)).toEqual([2, 3, 6]);
    expect(continuationsOf(links, 2)).toEqual([3, 6]);
    expect(continuationsOf(links, 4)).toEqual([5]);
  });

  it("leaves nothing stale at a chain's end", () => {
    expect(continuationsOf(links, 3)).toEqual([]);
    expect(continuationsOf(links, 5)).toEqual([]);
  });

  it("cascades first to the scenes continuing directly", () => {
    expect(directContinuationsOf(links, 1)).toEqual([2]);
    expect(directContinuationsOf(links, 2)).toEqual([3, 6]);
    expect(directContinuationsOf(links, 3)).toEqual([]);
  });
});
