import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryStorage } from "../../fakes/memory-storage.ts";
import { z } from "zod";
import { loadConfig } from "../../../shared/config.ts";
import {
  buildProviders,
  type BuildProvidersDeps,
} from "../../../shared/providers/registry/build-providers.ts";
import { parseProviderEndpoints } from "../../../shared/provider-endpoints-config.ts";
import {
  localFallback,
  type ResolvedProvider,
  type ResolvedProviders,
} from "../../../shared/providers/registry/resolve-providers.ts";
import { PROVIDER_TYPES, type ProviderType } from "../../../shared/providers/types.ts";
import { FAKE_API_KEYS, type Fakes, startFakes } from "../../fakes/start-fakes.ts";

const BASE_CONFIG = {
  SUPABASE_URL: "http://127.0.0.1:54321",
  SUPABASE_ANON_KEY: "anon",
  SUPABASE_SERVICE_ROLE_KEY: "service",
  SUPABASE_DB_URL: "postgresql://postgres@127.0.0.1:54322/postgres",
  REELFORGE_INTERNAL_SECRET: "0123456789abcdef0123",
};

describe("provider endpoints (operator config)", () => {
  it("default to nothing: every adapter keeps its provider's own https host", () => {
    expect(parseProviderEndpoints({})).toEqual({ baseUrls: {}, allowInsecureUrls: false });
    expect(
      parseProviderEndpoints({
        REELFORGE_PROVIDER_BASE_URLS: " ",
        REELFORGE_ALLOW_INSECURE_PROVIDER_URLS: "0",
      }),
    ).toEqual({ baseUrls: {}, allowInsecureUrls: false });
  });

  it("read a JSON object of provider → API root, trailing slashes dropped", () => {
    const endpoints = parseProviderEndpoints({
      REELFORGE_PROVIDER_BASE_URLS: JSON.stringify({
        runway: "https://proxy.example/runway/",
        openai: "https://proxy.example/openai/v1",
      }),
    });
    expect(endpoints).toEqual({
      baseUrls: { runway: "https://proxy.example/runway", openai: "https://proxy.example/openai/v1" },
      allowInsecureUrls: false,
    });
  });

  it("refuse http roots unless REELFORGE_ALLOW_INSECURE_PROVIDER_URLS is 1", () => {
    const env = { REELFORGE_PROVIDER_BASE_URLS: JSON.stringify({ fal: "http://127.0.0.1:4010" }) };
    expect(() => parseProviderEndpoints(env)).toThrow(
      /REELFORGE_PROVIDER_BASE_URLS\.fal: http:\/\/ needs REELFORGE_ALLOW_INSECURE_PROVIDER_URLS=1/,
    );
    expect(parseProviderEndpoints({ ...env, REELFORGE_ALLOW_INSECURE_PROVIDER_URLS: "1" })).toEqual({
      baseUrls: { fal: "http://127.0.0.1:4010" },
      allowInsecureUrls: true,
    });
  });

  it.each([
    ["not JSON", "{runway:", /must be a JSON object/],
    ["an array", "[]", /must be a JSON object/],
    [
      "an unknown provider",
      JSON.stringify({ midjourney: "https://x.example" }),
      /unknown provider "midjourney"/,
    ],
    ["a non-string URL", JSON.stringify({ runway: 42 }), /runway: must be a URL string/],
    ["a relative URL", JSON.stringify({ runway: "/v1" }), /runway: is not a URL/],
    ["another scheme", JSON.stringify({ sync: "ftp://x.example" }), /sync: must be an https:\/\/ URL/],
    [
      "credentials in the URL",
      JSON.stringify({ beatoven: "https://user:pw@x.example" }),
      /beatoven: must be a plain API root/,
    ],
    [
      "a query",
      JSON.stringify({ elevenlabs: "https://x.example/?key=1" }),
      /elevenlabs: must be a plain API root/,
    ],
  ])("refuse %s, naming the problem", (_, value, message) => {
    expect(() => parseProviderEndpoints({ REELFORGE_PROVIDER_BASE_URLS: value })).toThrow(message);
  });

  it("refuse an insecure switch that is neither 1 nor 0", () => {
    expect(() => parseProviderEndpoints({ REELFORGE_ALLOW_INSECURE_PROVIDER_URLS: "yes" })).toThrow(
      /must be "1" or "0"/,
    );
  });

  it("make loadConfig fail fast with the secret's name", () => {
    expect(() =>
      loadConfig({
        ...BASE_CONFIG,
        REELFORGE_PROVIDER_BASE_URLS: JSON.stringify({ runway: "http://127.0.0.1:1" }),
      })
    )
      .toThrow(/REELFORGE_PROVIDER_BASE_URLS: .*needs REELFORGE_ALLOW_INSECURE_PROVIDER_URLS=1/);
    const config = loadConfig({
      ...BASE_CONFIG,
      REELFORGE_PROVIDER_BASE_URLS: JSON.stringify({ runway: "http://127.0.0.1:1" }),
      REELFORGE_ALLOW_INSECURE_PROVIDER_URLS: "1",
    });
    expect(parseProviderEndpoints(config).baseUrls.runway).toBe("http://127.0.0.1:1");
  });
});

describe("buildProviders with endpoints", () => {
  let fakes: Fakes;
  beforeAll(async () => {
    fakes = await startFakes();
  });
  afterAll(() => fakes.close());

  const row = (
    providerType: ProviderType,
    provider: keyof typeof FAKE_API_KEYS | "worker",
    model: string,
  ): ResolvedProvider => ({
    ...localFallback(providerType),
    id: crypto.randomUUID(),
    source: "user",
    provider,
    model,
    apiKey: provider === "worker" ? null : FAKE_API_KEYS[provider],
  });
  const resolved = (): ResolvedProviders => ({
    ...Object.fromEntries(PROVIDER_TYPES.map((type) => [type, localFallback(type)])) as ResolvedProviders,
    llm: row("llm", "openai", "gpt-4.1-mini"),
    video: row("video", "runway", "gen4.5"),
    image: row("image", "fal", "fal-ai/flux/schnell"),
    audio: row("audio", "elevenlabs", "eleven_flash_v2_5"),
    lipsync: row("lipsync", "sync", "lipsync-2"),
    music: row("music", "beatoven", "maestro"),
    render: row("render", "worker", "worker"),
  });
  // The HTTP adapters never touch the database; Storage only signs addresses of ours (none here).
  const deps = (endpoints?: BuildProvidersDeps["endpoints"]) =>
    ({ sql: null, userId: "u", storage: createMemoryStorage(), endpoints }) as unknown as BuildProvidersDeps;

  it("send every HTTP adapter to the operator's API roots, accepting http media with the switch on", async () => {
    const endpoints = parseProviderEndpoints({
      REELFORGE_ALLOW_INSECURE_PROVIDER_URLS: "1",
      REELFORGE_PROVIDER_BASE_URLS: JSON.stringify(
        Object.fromEntries((["openai", "runway", "fal", "elevenlabs", "sync", "beatoven"] as const)
          .map((p) => [p, fakes.adapterOptions(p).baseUrl])),
      ),
    });
    const set = buildProviders(resolved(), deps(endpoints));
    const schema = {
      type: "object",
      properties: { title: { type: "string" } },
      required: ["title"],
      additionalProperties: false,
    };
    expect(
      (await set.llm.generateJson({
        name: "plan",
        schema,
        parse: z.object({ title: z.string() }),
        system: "s",
        user: "u",
      })).value,
    ).toEqual({ title: "text" });
    // An http reference image passes the adapter's URL check only because the switch is on.
    const videoJob = await set.video.submit({
      promptText: "sea",
      promptImage: fakes.runway.fileUrl("frame.png"),
      ratio: "1280:720",
      durationSeconds: 4,
    });
    expect(await set.image.submit({ prompt: "poster", width: 768, height: 1024 })).toBeTruthy();
    expect((await set.audio.speak({ voiceId: "abc123", text: "Hello." })).requestId).toBeTruthy();
    if (!set.lipsync) throw new Error("no lip sync adapter was built");
    expect(
      await set.lipsync.submit({
        videoUrl: fakes.runway.fileUrl("clip.mp4"),
        audioUrl: fakes.elevenlabs.fileUrl("line.mp3"),
      }),
    ).toBeTruthy();
    if (!set.music) throw new Error("no music adapter was built");
    expect(await set.music.submit({ prompt: "calm piano", durationSeconds: 30 })).toBeTruthy();
    expect(
      [fakes.openai, fakes.runway, fakes.fal, fakes.elevenlabs, fakes.sync, fakes.beatoven].map((f) =>
        f.submissions().total
      ),
    ).toEqual([1, 1, 1, 1, 1, 1]);
    // Output URLs on the fake are http too.
    let state = await set.video.poll(videoJob);
    while (state.state !== "succeeded" && state.state !== "failed") state = await set.video.poll(videoJob);
    expect(state).toMatchObject({ state: "succeeded", output: { url: fakes.runway.fileUrl("clip.mp4") } });
  });

  it("keep http media refused when the operator gave roots but not the insecure switch", async () => {
    const endpoints = { baseUrls: { runway: fakes.runway.baseUrl }, allowInsecureUrls: false };
    const set = buildProviders(resolved(), deps(endpoints));
    const before = fakes.runway.hits("POST /v1/image_to_video");
    await expect(
      set.video.submit({
        promptText: "sea",
        promptImage: fakes.runway.fileUrl("frame.png"),
        ratio: "1280:720",
        durationSeconds: 4,
      }),
    )
      .rejects.toThrow(/must be https/);
    expect(fakes.runway.hits("POST /v1/image_to_video")).toBe(before);
  });

  it("say whose key each adapter calls with: the row it was built from, not its provider's name", () => {
    // The user's own fal row renders; images stay on the project's fal key.
    const set = buildProviders({
      ...resolved(),
      image: { ...row("image", "fal", "fal-ai/flux/schnell"), source: "project" },
      render: row("render", "fal", "fal-ai/ffmpeg-api"),
    }, deps());
    expect(set.image.paidBy).toBe("project");
    expect(set.render.paidBy).toBe("user");
    expect(set.llm.paidBy).toBe("user");
    expect(set.audio.paidBy).toBe("user");
    // Our own machines, the project's or the fallback: nobody pays.
    expect(
      buildProviders(
        Object.fromEntries(PROVIDER_TYPES.map((type) => [type, localFallback(type)])) as ResolvedProviders,
        deps(),
      ).video.paidBy,
    ).toBe("free");
  });
});
