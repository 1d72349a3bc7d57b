import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBeatovenMusic } from "../../../shared/providers/beatoven/beatoven-music.ts";
import { createElevenLabsVoice } from "../../../shared/providers/elevenlabs/elevenlabs-voice.ts";
import { createFalImage } from "../../../shared/providers/fal/fal-image.ts";
import { createOpenAiLlm } from "../../../shared/providers/openai/openai-llm.ts";
import { createRunwayVideo } from "../../../shared/providers/runway/runway-video.ts";
import { createSyncLipsync } from "../../../shared/providers/sync/sync-lipsync.ts";
import { z } from "zod";
import { type Fakes, startFakes } from "../../fakes/start-fakes.ts";

describe("all provider fakes at once", () => {
  let fakes: Fakes;
  beforeAll(async () => {
    fakes = await startFakes();
  });
  afterAll(() => fakes.close());

  it("serve every adapter on its own port with the keys adapterOptions gives", async () => {
    const ports = new Set(
      ["openai", "runway", "fal", "elevenlabs", "sync", "beatoven"].map((name) =>
        new URL(fakes[name as "fal"].baseUrl).port
      ),
    );
    expect(ports.size).toBe(6);
    const llm = createOpenAiLlm({ ...fakes.adapterOptions("openai"), model: "gpt-4.1-mini" });
    const schema = {
      type: "object",
      properties: { title: { type: "string" } },
      required: ["title"],
      additionalProperties: false,
    };
    expect(
      (await llm.generateJson({
        name: "plan",
        schema,
        parse: z.object({ title: z.string() }),
        system: "s",
        user: "u",
      })).value,
    ).toEqual({ title: "text" });
    const video = createRunwayVideo({ ...fakes.adapterOptions("runway"), model: "gen4.5" });
    expect(await video.submit({ promptText: "sea", ratio: "1280:720", durationSeconds: 4 })).toBeTruthy();
    const image = createFalImage({ ...fakes.adapterOptions("fal"), model: "fal-ai/flux/schnell" });
    expect(await image.submit({ prompt: "poster", width: 768, height: 1024 })).toBeTruthy();
    const voice = createElevenLabsVoice({
      ...fakes.adapterOptions("elevenlabs"),
      model: "eleven_flash_v2_5",
    });
    expect((await voice.speak({ voiceId: "abc123", text: "Hello." })).requestId).toBeTruthy();
    const lipsync = createSyncLipsync({ ...fakes.adapterOptions("sync"), model: "lipsync-2" });
    expect(
      await lipsync.submit({
        videoUrl: fakes.runway.fileUrl("clip.mp4"),
        audioUrl: fakes.elevenlabs.fileUrl("line.mp3"),
      }),
    ).toBeTruthy();
    const music = createBeatovenMusic({ ...fakes.adapterOptions("beatoven"), model: "maestro" });
    expect(await music.submit({ prompt: "calm piano", durationSeconds: 30 })).toBeTruthy();
  });
});
