import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFalFfmpegRender } from "../../shared/providers/fal/fal-ffmpeg.ts";
import { ProviderInputError } from "../../shared/providers/provider-errors.ts";
import type { RenderProvider, RenderRequest, Timeline } from "../../shared/providers/types.ts";
import { type FalFfmpegFake, startFalFfmpegFake } from "../fakes/fal-ffmpeg-fake.ts";

const output = { bucket: "renders", path: "film.mp4" };
const clips = ["https://cdn.test/a.mp4", "https://cdn.test/b.mp4"].map((url) => ({
  url,
  inFrame: 0,
  outFrame: 48,
}));
const timeline: Timeline = { fps: 24, width: 1280, height: 720, clips, dialogue: [] };

describe("fal hosted FFmpeg render adapter against its fake", () => {
  let fake: FalFfmpegFake;
  let render: RenderProvider;
  const finish = async (jobId: string) => {
    const seen = [];
    for (let i = 0; i < 5; i++) {
      const state = await render.poll(jobId);
      seen.push(state.state);
      if (state.state === "succeeded" || state.state === "failed") return { state, seen };
    }
    throw new Error("never finished");
  };

  beforeEach(async () => {
    fake = await startFalFfmpegFake();
    render = createFalFfmpegRender({ apiKey: "fal-test-key", baseUrl: fake.baseUrl, sleep: async () => {} });
  });
  afterEach(() => fake.close());

  it("assembles cut-only whole clips with merge-videos at the timeline's fps and size", async () => {
    const jobId = await render.submit({ op: "assemble", timeline, output });
    expect(jobId).toMatch(/^merge-videos:/);
    expect(fake.submitted).toEqual([{
      endpoint: "merge-videos",
      input: {
        video_urls: clips.map((c) => c.url),
        target_fps: 24,
        resolution: { width: 1280, height: 720 },
      },
    }]);
    const { state, seen } = await finish(jobId);
    expect(seen).toEqual(["pending", "succeeded"]);
    expect(state).toEqual({
      state: "succeeded",
      output: { url: fake.fileUrl("merged.mp4"), contentType: "video/mp4" },
    });
  });

  it("puts one dialogue line on a clip with merge-audio-video at its offset in seconds", async () => {
    const jobId = await render.submit({
      op: "mix_dialogue",
      clipUrl: clips[0].url,
      fps: 24,
      dialogue: [{ url: "https://cdn.test/line.mp3", startFrame: 36 }],
      output,
    });
    expect(fake.submitted[0]).toEqual({
      endpoint: "merge-audio-video",
      input: { video_url: clips[0].url, audio_url: "https://cdn.test/line.mp3", start_offset: 1.5 },
    });
    expect((await finish(jobId)).state.state).toBe("succeeded");
  });

  it("asks extract-frame for the last frame and keeps the content type fal answers", async () => {
    const jobId = await render.submit({ op: "extract_last_frame", clipUrl: clips[1].url, output });
    expect(fake.submitted[0].input).toEqual({ video_url: clips[1].url, frame_type: "last" });
    expect((await finish(jobId)).state).toEqual({
      state: "succeeded",
      output: { url: fake.fileUrl("frame.jpg"), contentType: "image/jpeg" },
    });
  });

  it.each([
    [
      "dialogue",
      { ...timeline, dialogue: [{ url: "https://cdn.test/l.mp3", startFrame: 0 }] },
      /dialogue needs the render worker/,
    ],
    ["a dissolve", {
      ...timeline,
      clips: [{ ...clips[0], transition: { type: "dissolve", frames: 6 } }, clips[1]],
    }, /a fade or dissolve/],
    ["trimming", { ...timeline, clips: [{ ...clips[0], inFrame: 5 }, clips[1]] }, /trimming/],
    ["loudness normalisation", { ...timeline, loudnessLufs: -16 }, /loudness normalisation/],
    ["a colour grade", {
      ...timeline,
      grade: { target: "#8a7a6a", strength: 0.6, contrast: 1, saturation: 1 },
    }, /a colour grade needs the render worker/],
  ])("refuses an assembly with %s before calling fal", async (_, t, message) => {
    const request = { op: "assemble", timeline: t, output } as RenderRequest;
    await expect(render.submit(request)).rejects.toThrow(ProviderInputError);
    await expect(render.submit(request)).rejects.toThrow(message);
    expect(fake.submitted).toHaveLength(0);
  });

  it("refuses a mix of two dialogue lines, naming the op", () => {
    const request: RenderRequest = {
      op: "mix_dialogue",
      clipUrl: clips[0].url,
      fps: 24,
      dialogue: [{ url: "https://cdn.test/1.mp3", startFrame: 0 }, {
        url: "https://cdn.test/2.mp3",
        startFrame: 30,
      }],
      output,
    };
    expect(() => render.validate(request)).toThrow(
      /mix_dialogue maps to merge-audio-video, which takes exactly one dialogue track/,
    );
  });

  it("refuses a dialogue track, naming the op, before calling fal", async () => {
    const request: RenderRequest = {
      op: "dialogue_track",
      fps: 24,
      durationFrames: 48,
      dialogue: [{ url: "https://cdn.test/1.mp3", startFrame: 0 }],
      output,
    };
    await expect(render.submit(request)).rejects.toThrow(ProviderInputError);
    await expect(render.submit(request)).rejects.toThrow(/dialogue_track: .* needs the render worker/);
    expect(fake.submitted).toHaveLength(0);
  });
});
