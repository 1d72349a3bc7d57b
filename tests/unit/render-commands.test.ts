import { describe, expect, it } from "vitest";
import {
  type AssembleInputs,
  buildAssembleArgs,
  parseX264Preset,
} from "../../shared/render/assemble-command.ts";
import { chooseAssemblyPath } from "../../shared/render/assembly-path.ts";
import { buildDialogueTrackArgs } from "../../shared/render/dialogue-track-command.ts";
import { buildLastFrameArgs } from "../../shared/render/frame-command.ts";
import { fpsRational, framesToSamples } from "../../shared/render/frame-grid.ts";
import type { MediaInfo } from "../../shared/media/media-probe.ts";
import { checkRenderRequest, timelineFrames } from "../../shared/providers/render-request.ts";
import type { Timeline } from "../../shared/providers/types.ts";

const probe = (overrides: Partial<NonNullable<MediaInfo["video"]>> = {}): MediaInfo => ({
  durationSeconds: 2,
  video: {
    codec: "h264",
    profile: "High",
    pixFmt: "yuv420p",
    width: 320,
    height: 180,
    fps: 24,
    timeBase: "1/12288",
    frames: 48,
    ...overrides,
  },
  audio: { codec: "aac", sampleRate: 48000, channels: 2 },
});
const url = (i: number) => `http://127.0.0.1:54321/storage/v1/object/public/in/clip-${i}.mp4`;
const timeline = (extra: Partial<Timeline> = {}): Timeline => ({
  fps: 24,
  width: 320,
  height: 180,
  clips: [0, 1, 2].map((i) => ({ url: url(i), inFrame: 0, outFrame: 48 })),
  dialogue: [],
  ...extra,
});
const inputs = (t: Timeline, path: "stream_copy" | "re_encode"): AssembleInputs => ({
  timeline: t,
  path,
  clipFiles: t.clips.map((_, i) => `/w/clip-${i}`),
  clipHasAudio: t.clips.map(() => true),
  concatListFile: "/w/clips.txt",
  dialogue: t.dialogue.map((_, i) => ({ file: `/w/dialogue-${i}`, durationSeconds: 1.5 })),
  musicFile: t.music ? "/w/music" : null,
  loudness: {
    input_i: "-23.1",
    input_tp: "-9.0",
    input_lra: "2.0",
    input_thresh: "-33.4",
    target_offset: "0.2",
  },
  outputFile: "/w/out.mp4",
});

describe("choosing between stream copy and re-encode", () => {
  it("stream-copies whole matching clips joined by cuts", () => {
    expect(chooseAssemblyPath(timeline(), [probe(), probe(), probe()])).toEqual({
      path: "stream_copy",
      reason: null,
    });
  });

  it.each([
    [
      "a trimmed clip",
      timeline({ clips: [{ url: url(0), inFrame: 2, outFrame: 48 }] }),
      [probe()],
      /clips\[0\] is trimmed/,
    ],
    [
      "a dissolve",
      timeline({
        clips: [{ url: url(0), inFrame: 0, outFrame: 48, transition: { type: "dissolve", frames: 6 } }, {
          url: url(1),
          inFrame: 0,
          outFrame: 48,
        }],
      }),
      [probe(), probe()],
      /dissolve/,
    ],
    ["another size", timeline(), [probe(), probe({ width: 640, height: 360 }), probe()], /width 640 differs/],
    ["another time base", timeline(), [probe(), probe(), probe({ timeBase: "1/24000" })], /timeBase/],
    [
      "another frame rate than the timeline",
      timeline({ fps: 25 }),
      [probe(), probe(), probe()],
      /24 fps, the timeline at 25/,
    ],
    [
      "HEVC clips",
      timeline(),
      [probe({ codec: "hevc" }), probe({ codec: "hevc" }), probe({ codec: "hevc" })],
      /hevc/,
    ],
    [
      "a graded film",
      timeline({ grade: { target: "#757c86", strength: 0.6, contrast: 1, saturation: 1 } }),
      [probe(), probe(), probe()],
      /the film is graded/,
    ],
  ])("re-encodes for %s, saying why", (_, t, probes, reason) => {
    const decision = chooseAssemblyPath(t, probes);
    expect(decision.path).toBe("re_encode");
    expect(decision.reason).toMatch(reason);
  });
});

describe("FFmpeg arguments", () => {
  it("copies the video through the concat demuxer with timestamps kept, and encodes only the sound", () => {
    const args = buildAssembleArgs(inputs(timeline(), "stream_copy"));
    expect(args.join(" ")).toContain("-copyts -f concat -safe 0 -i /w/clips.txt");
    expect(args.join(" ")).toContain("-map 0:v:0 -c:v copy");
    expect(args.join(" ")).toContain("-c:a aac");
    expect(args.join(" ")).toContain("-movflags +faststart");
    expect(args).not.toContain("libx264");
  });

  it("places dialogue at its frame in whole samples and ducks the music only while it plays", () => {
    const t = timeline({
      dialogue: [{ url: url(9), startFrame: 30, gainDb: -3 }],
      music: { url: url(8), startFrame: 0, duckDb: -12 },
    });
    const graph = buildAssembleArgs(
      inputs(t, "stream_copy"),
    )[buildAssembleArgs(inputs(t, "stream_copy")).indexOf("-filter_complex") + 1];
    expect(graph).toContain("volume=-3dB,adelay=delays=60000S:all=1");
    expect(graph).toContain("volume='if(between(t,1.250000,2.750000),0.251189,1)':eval=frame");
    expect(graph).toContain(`atrim=end_sample=${framesToSamples(144, 24)}[aout]`);
  });

  it("ducks the music under speech inside the clips' own sound without placing anything", () => {
    const t = timeline({
      speech: [{ startFrame: 30, frames: 36 }],
      music: { url: url(8), startFrame: 0, duckDb: -12 },
    });
    const args = buildAssembleArgs(inputs(t, "stream_copy"));
    const graph = args[args.indexOf("-filter_complex") + 1];
    expect(graph).toContain("volume='if(between(t,1.250000,2.750000),0.251189,1)':eval=frame");
    expect(graph).not.toContain("adelay=delays=60000S");
  });

  it("applies the first pass's loudness measurement as a linear gain in the second", () => {
    const graph = buildAssembleArgs(inputs(timeline({ loudnessLufs: -14 }), "stream_copy")).join(" ");
    expect(graph).toContain(
      "loudnorm=I=-14:TP=-1.5:LRA=11:measured_I=-23.1:measured_TP=-9.0:measured_LRA=2.0:measured_thresh=-33.4:offset=0.2:linear=true",
    );
  });

  it("measures loudness from the sound alone, writing nothing", () => {
    const args = buildAssembleArgs({ ...inputs(timeline(), "re_encode"), loudness: "measure" });
    expect(args.slice(-4)).toEqual(["-vn", "-f", "null", "-"]);
    expect(args.join(" ")).not.toMatch(/\[\d+:v\]/);
    expect(args.join(" ")).toContain("print_format=json");
  });

  it("re-encodes with trims on the fps grid and xfade at the overlap's offset", () => {
    const t = timeline({
      clips: [
        { url: url(0), inFrame: 6, outFrame: 48, transition: { type: "dissolve", frames: 12 } },
        { url: url(1), inFrame: 0, outFrame: 48, transition: { type: "fade", frames: 6 } },
        { url: url(2), inFrame: 0, outFrame: 24 },
      ],
    });
    expect(timelineFrames(t)).toBe(42 + 48 + 24 - 12 - 6);
    const graph = buildAssembleArgs(inputs(t, "re_encode")).join(" ");
    expect(graph).toContain("[0:v]fps=24/1,trim=start_frame=6:end_frame=48");
    expect(graph).toContain("xfade=transition=fade:duration=0.500000:offset=1.250000");
    expect(graph).toContain("xfade=transition=fadeblack:duration=0.250000:offset=3.000000");
    expect(graph).toContain("acrossfade=ns=24000");
    expect(graph).toContain("-c:v libx264 -preset veryfast -crf 20");
  });

  it("encodes with the worker's x264 preset, and refuses a preset x264 does not have", () => {
    const args = buildAssembleArgs({ ...inputs(timeline(), "re_encode"), x264Preset: "ultrafast" });
    expect(args.join(" ")).toContain("-preset ultrafast -crf 20");
    expect(parseX264Preset(undefined)).toBe("veryfast");
    expect(parseX264Preset("")).toBe("veryfast");
    expect(parseX264Preset("ultrafast")).toBe("ultrafast");
    expect(() => parseX264Preset("turbo")).toThrow(
      /REELFORGE_RENDER_X264_PRESET is "turbo"; one of ultrafast, /,
    );
  });

  it("reads the last frame from near the end without dropping or duplicating frames", () => {
    const args = buildLastFrameArgs("/w/clip", "/w/last.png", 1.2);
    expect(args.join(" ")).toContain("-sseof -1.200 -i /w/clip");
    expect(args.join(" ")).toContain("-fps_mode passthrough -update 1");
  });

  it("renders a dialogue track as silence of the exact length with each line placed by sample, unnormalised", () => {
    const args = buildDialogueTrackArgs({
      fps: 24,
      durationFrames: 72,
      outputFile: "/w/dialogue.m4a",
      dialogue: [{ file: "/w/line-0", startFrame: 12, durationSeconds: 0.8 }, {
        file: "/w/line-1",
        startFrame: 60,
        gainDb: -3,
        durationSeconds: 0.8,
      }],
    });
    expect(args.join(" ")).toContain("-i /w/line-0 -i /w/line-1 -filter_complex");
    const graph = args[args.indexOf("-filter_complex") + 1];
    expect(graph).toContain(`anullsrc=r=48000:cl=stereo,atrim=end_sample=${framesToSamples(72, 24)}[bed]`);
    expect(graph).toContain("[0:a]aresample=48000");
    expect(graph).toContain("volume=0dB,adelay=delays=24000S:all=1[dlg0]");
    expect(graph).toContain("volume=-3dB,adelay=delays=120000S:all=1[dlg1]");
    expect(graph).toContain(`apad=whole_len=144000,atrim=end_sample=144000[aout]`);
    expect(graph).not.toContain("loudnorm");
    // Sound only: one mapped stream, AAC at 48 kHz in an mp4 container.
    expect(args.slice(-15)).toEqual([
      "-map",
      "[aout]",
      "-c:a",
      "aac",
      "-b:a",
      "192k",
      "-ar",
      "48000",
      "-ac",
      "2",
      "-movflags",
      "+faststart",
      "-f",
      "mp4",
      "/w/dialogue.m4a",
    ]);
    expect(args.filter((a) => a === "-map")).toHaveLength(1);
  });

  it("writes NTSC rates as exact rationals", () => {
    expect(fpsRational(29.97)).toBe("30000/1001");
    expect(fpsRational(23.976)).toBe("24000/1001");
    expect(fpsRational(25)).toBe("25/1");
  });
});

describe("checking a render request", () => {
  it("names every problem with its field", () => {
    const check = checkRenderRequest({
      op: "assemble",
      output: { bucket: "b", path: "p" },
      timeline: {
        fps: 24,
        width: 321,
        height: 180,
        clips: [{ url: "ftp://x/y.mp4", inFrame: 0, outFrame: 10 }],
        dialogue: [],
      },
    });
    expect(check.ok).toBe(false);
    expect(!check.ok && check.problems).toEqual(
      expect.arrayContaining([
        "timeline.width: must be even (yuv420p)",
        "timeline.clips.0.url: must be an http(s) URL",
      ]),
    );
  });

  it("refuses transitions longer than the clips they join and dialogue past the end", () => {
    const t = timeline({
      clips: [{ url: url(0), inFrame: 0, outFrame: 10, transition: { type: "dissolve", frames: 12 } }, {
        url: url(1),
        inFrame: 0,
        outFrame: 48,
      }],
    });
    const check = checkRenderRequest({ op: "assemble", timeline: t, output: { bucket: "b", path: "p" } });
    expect(!check.ok && check.problems).toEqual([
      "timeline.clips[0]: its transitions take 12 frames but the clip is 10 frames long",
    ]);
    const late = checkRenderRequest({
      op: "assemble",
      timeline: timeline({ dialogue: [{ url: url(5), startFrame: 144 }] }),
      output: { bucket: "b", path: "p" },
    });
    expect(!late.ok && late.problems).toEqual([
      "timeline.dialogue[0]: startFrame 144 is past the timeline's end (144 frames)",
    ]);
  });

  it("refuses a dialogue line that starts past the dialogue track's end", () => {
    const check = checkRenderRequest({
      op: "dialogue_track",
      fps: 24,
      durationFrames: 48,
      dialogue: [{ url: url(4), startFrame: 10 }, { url: url(5), startFrame: 48 }],
      output: { bucket: "b", path: "d.m4a" },
    });
    expect(!check.ok && check.problems).toEqual([
      "dialogue[1]: startFrame 48 is past the track's end (48 frames)",
    ]);
    const empty = checkRenderRequest({
      op: "dialogue_track",
      fps: 24,
      durationFrames: 0,
      dialogue: [],
      output: { bucket: "b", path: "d.m4a" },
    });
    expect(!empty.ok && empty.problems.join()).toMatch(/^durationFrames: /);
  });

  it("accepts a sound request", () => {
    expect(
      checkRenderRequest({
        op: "extract_last_frame",
        clipUrl: url(0),
        output: { bucket: "b", path: "p.png" },
      }).ok,
    ).toBe(true);
  });
});
