import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PermanentTaskError } from "../../shared/errors.ts";
import { MediaCommandError } from "../../shared/media/ffmpeg-process.ts";
import type { Timeline } from "../../shared/providers/types.ts";
import { runRenderJob } from "../../shared/render/render-job.ts";
import { taskObjects } from "../../shared/storage/owner-objects.ts";
import { describeJobFailure } from "../../shared/worker/job-failure.ts";
import { createJobIo } from "../../shared/worker/worker-job-io.ts";
import {
  download,
  durationOf,
  frameCount,
  frameHashes,
  integratedLoudness,
  lowBandLevelDb,
  makeClip,
  makeTone,
  publish,
  soundOnsetSeconds,
} from "../support/render-media.ts";
import { ensureBucket, stackStorage } from "../support/stack-storage.ts";

const FPS = 24;

/** Every onset (end of a silence) in an audio-only file; its timestamps start at zero. */
function soundOnsetsSeconds(file: string): number[] {
  const result = spawnSync("ffmpeg", [
    "-hide_banner",
    "-nostdin",
    "-i",
    file,
    "-af",
    "silencedetect=noise=-40dB:duration=0.05",
    "-f",
    "null",
    "-",
  ], { encoding: "utf8" });
  return [...result.stderr.matchAll(/silence_end: ([\d.]+)/g)].map((m) => Number(m[1]));
}

function streamsOf(file: string) {
  const out = execFileSync("ffprobe", [
    "-v",
    "error",
    "-show_entries",
    "stream=codec_type,codec_name,sample_rate",
    "-of",
    "json",
    file,
  ]).toString();
  return JSON.parse(out).streams;
}
const FRAME = 1 / FPS;
const run = `render-job-${crypto.randomUUID().slice(0, 8)}`;
let dir: string;
let clipUrls: string[];
let lineUrl: string;
let musicUrl: string;

async function render(payload: Record<string, unknown>) {
  const workDir = mkdtempSync(join(dir, "job-"));
  const storage = stackStorage();
  const io = createJobIo({
    workDir,
    storage,
    signal: new AbortController().signal,
    heartbeat: async () => {},
    // A job no user started: the inputs are this file's own, in a bucket of its own.
    readable: taskObjects(null, "media"),
    fetchesElsewhere: true,
  });
  return await runRenderJob(payload, io) as {
    url: string;
    durationSeconds: number;
    renderPath: string;
    reEncodeReason: string | null;
  };
}

const output = (name: string) => ({ bucket: "renders", path: `${run}/${name}` });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "render-job-"));
  await ensureBucket("renders");
  // Three matching 2 s clips with silent audio: the dialogue is the only sound.
  const clips = [0, 1, 2].map((i) =>
    makeClip(dir, `clip-${i}.mp4`, {
      seconds: 2,
      audio: "silent",
      source: i === 1 ? "smptebars" : "testsrc2",
    })
  );
  clipUrls = await Promise.all(
    clips.map((file, i) => publish(file, "inputs", `${run}/clip-${i}.mp4`, "video/mp4")),
  );
  lineUrl = await publish(makeTone(dir, "line.wav", 0.8, 1000, -6), "inputs", `${run}/line.wav`, "audio/wav");
  musicUrl = await publish(
    makeTone(dir, "music.wav", 8, 150, -10),
    "inputs",
    `${run}/music.wav`,
    "audio/wav",
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("assembling a timeline", () => {
  it("stream-copies matching whole clips, lands dialogue on its frame and hits the loudness target", async () => {
    const timeline: Timeline = {
      fps: FPS,
      width: 320,
      height: 180,
      clips: clipUrls.map((url) => ({ url, inFrame: 0, outFrame: 48 })),
      dialogue: [{ url: lineUrl, startFrame: 61 }],
      loudnessLufs: -18,
    };
    const result = await render({ op: "assemble", timeline, output: output("copy.mp4") });
    expect(result.renderPath).toBe("stream_copy");
    const file = await download(result.url, join(dir, "copy.mp4"));
    expect(Math.abs(durationOf(file) - 144 / FPS)).toBeLessThanOrEqual(FRAME);
    expect(Math.abs(soundOnsetSeconds(file) - 61 / FPS)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(integratedLoudness(file) - -18)).toBeLessThanOrEqual(1);
    expect(frameCount(file)).toBe(144);
  });

  it("re-encodes trimmed clips with dissolves, ducks music under dialogue and still lands every number", async () => {
    const timeline: Timeline = {
      fps: FPS,
      width: 320,
      height: 180,
      clips: [
        { url: clipUrls[0], inFrame: 6, outFrame: 48, transition: { type: "dissolve", frames: 8 } },
        { url: clipUrls[1], inFrame: 0, outFrame: 40, transition: { type: "cut", frames: 0 } },
        { url: clipUrls[2], inFrame: 10, outFrame: 46, transition: { type: "fade", frames: 6 } },
        { url: clipUrls[0], inFrame: 0, outFrame: 24 },
      ],
      dialogue: [{ url: lineUrl, startFrame: 50, gainDb: 0 }],
      music: { url: musicUrl, startFrame: 0, gainDb: -6, duckDb: -15 },
    };
    const total = 42 + 40 + 36 + 24 - 8 - 6; // 128 frames
    const result = await render({ op: "assemble", timeline, output: output("reencode.mp4") });
    expect(result.renderPath).toBe("re_encode");
    expect(result.reEncodeReason).toMatch(/trimmed|transition/);
    const file = await download(result.url, join(dir, "reencode.mp4"));
    expect(Math.abs(durationOf(file) - total / FPS)).toBeLessThanOrEqual(FRAME);
    expect(frameCount(file)).toBe(total);
    expect(Math.abs(soundOnsetSeconds(file, 600) - 50 / FPS)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(integratedLoudness(file) - -16)).toBeLessThanOrEqual(1);
    // The line plays from 2.083 s to 2.883 s: the music drops by its duckDb there, and only there.
    const ducked = lowBandLevelDb(file, 2.2, 2.8, 300) - lowBandLevelDb(file, 0.5, 1.9, 300);
    expect(Math.abs(ducked - -15)).toBeLessThanOrEqual(1.5);
  });

  it("ducks music under speech already in the clips' sound (lip-synced scenes), there only", async () => {
    const timeline: Timeline = {
      fps: FPS,
      width: 320,
      height: 180,
      clips: clipUrls.map((url) => ({ url, inFrame: 0, outFrame: 48 })),
      dialogue: [],
      speech: [{ startFrame: 50, frames: 20 }],
      music: { url: musicUrl, startFrame: 0, gainDb: -6, duckDb: -10 },
    };
    const result = await render({ op: "assemble", timeline, output: output("speech.mp4") });
    const file = await download(result.url, join(dir, "speech.mp4"));
    // Speech from 2.083 s to 2.917 s.
    const ducked = lowBandLevelDb(file, 2.2, 2.8, 300) - lowBandLevelDb(file, 0.5, 1.9, 300);
    expect(Math.abs(ducked - -10)).toBeLessThanOrEqual(1.5);
    expect(Math.abs(lowBandLevelDb(file, 3.2, 5.5, 300) - lowBandLevelDb(file, 0.5, 1.9, 300)))
      .toBeLessThanOrEqual(1);
  });

  it("mixes dialogue onto one clip without re-encoding its picture", async () => {
    const result = await render({
      op: "mix_dialogue",
      clipUrl: clipUrls[2],
      fps: FPS,
      dialogue: [{ url: lineUrl, startFrame: 12 }],
      output: output("mixed.mp4"),
    });
    expect(result.renderPath).toBe("stream_copy");
    const file = await download(result.url, join(dir, "mixed.mp4"));
    expect(Math.abs(durationOf(file) - 2)).toBeLessThanOrEqual(FRAME);
    expect(Math.abs(soundOnsetSeconds(file) - 12 / FPS)).toBeLessThanOrEqual(0.02);
    expect(frameHashes(file)).toEqual(frameHashes(join(dir, "clip-2.mp4")));
  });
});

describe("rendering a scene's dialogue alone", () => {
  it("gives one AAC track of exactly the clip's length with each line where it says", async () => {
    // 72 frames = 3 s; the second line starts at 2.5 s and is cut at the end, not let run on.
    const result = await render({
      op: "dialogue_track",
      fps: FPS,
      durationFrames: 72,
      dialogue: [{ url: lineUrl, startFrame: 13 }, { url: lineUrl, startFrame: 60 }],
      output: output("dialogue.m4a"),
    });
    const file = await download(result.url, join(dir, "dialogue.m4a"));
    expect(Math.abs(durationOf(file) - 72 / FPS)).toBeLessThanOrEqual(FRAME);
    expect(Math.abs(result.durationSeconds - 72 / FPS)).toBeLessThanOrEqual(FRAME);
    expect(streamsOf(file)).toEqual([{ codec_type: "audio", codec_name: "aac", sample_rate: "48000" }]);
    const onsets = soundOnsetsSeconds(file);
    expect(onsets).toHaveLength(2);
    expect(Math.abs(onsets[0] - 13 / FPS)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(onsets[1] - 60 / FPS)).toBeLessThanOrEqual(0.02);
  });
});

describe("extracting a clip's last frame", () => {
  it("gives exactly the clip's last decoded frame as a PNG", async () => {
    const clip = makeClip(dir, "long.mp4", { seconds: 5.5, audio: "none", source: "testsrc2" });
    const clipUrl = await publish(clip, "inputs", `${run}/long.mp4`, "video/mp4");
    const result = await render({ op: "extract_last_frame", clipUrl, output: output("last.png") });
    const png = await download(result.url, join(dir, "last.png"));
    const clipFrames = frameHashes(clip);
    expect(frameHashes(png)).toEqual([clipFrames.at(-1)]);
    expect(clipFrames.at(-1)).not.toBe(clipFrames.at(-2));
  });
});

describe("refusing bad timelines", () => {
  it("fails for good, naming the clip, when a clip ends before it starts", async () => {
    const timeline = {
      fps: FPS,
      width: 320,
      height: 180,
      clips: [{ url: clipUrls[0], inFrame: 30, outFrame: 10 }],
      dialogue: [],
    };
    const error = await render({ op: "assemble", timeline, output: output("bad.mp4") }).catch((e) => e);
    expect(error).toBeInstanceOf(PermanentTaskError);
    expect(error.message).toContain("timeline.clips[0]: outFrame (10) must be after inFrame (30)");
  });

  it("fails for good on a file FFmpeg cannot read, and gives back one whose probe was stopped by a signal", async () => {
    const timeline = (url: string) => ({
      fps: FPS,
      width: 320,
      height: 180,
      clips: [{ url, inFrame: 0, outFrame: 10 }],
      dialogue: [],
    });
    writeFileSync(join(dir, "notes.mp4"), "not a film");
    const notMedia = await publish(
      join(dir, "notes.mp4"),
      "inputs",
      `${run}/notes.mp4`,
      "video/mp4",
    );
    const unreadable = await render({
      op: "assemble",
      timeline: timeline(notMedia),
      output: output("notes.mp4"),
    })
      .catch((e) => e);
    expect(unreadable).toBeInstanceOf(PermanentTaskError);
    expect(unreadable.code).toBe("unreadable_media");
    // An ffprobe stopped as its worker shuts down (a supervisor signals the worker's process group)
    // says nothing of its input, even of one FFmpeg would refuse. (A clip probed before would be
    // answered from memory without running ffprobe: media-probe.ts.)
    const bin = mkdtempSync(join(tmpdir(), "stopped-ffprobe-"));
    writeFileSync(join(bin, "ffprobe"), "#!/bin/sh\nkill -TERM $$\n", { mode: 0o755 });
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      const stopped = await render({
        op: "assemble",
        timeline: timeline(notMedia),
        output: output("stopped.mp4"),
      })
        .catch((e) => e);
      // Before: unreadable_media, failed for good, and the film with it.
      expect(stopped).not.toBeInstanceOf(PermanentTaskError);
      expect(stopped).toBeInstanceOf(MediaCommandError);
      expect(stopped.message).toContain("ffprobe was killed by SIGTERM");
      expect(describeJobFailure(stopped, "task-1")).toMatchObject({
        code: "ffprobe_failed",
        retryable: true,
      });
    } finally {
      process.env.PATH = path;
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it("fails for good when an input cannot be downloaded", async () => {
    const timeline = {
      fps: FPS,
      width: 320,
      height: 180,
      clips: [{ url: `${clipUrls[0]}.missing`, inFrame: 0, outFrame: 10 }],
      dialogue: [],
    };
    const error = await render({ op: "assemble", timeline, output: output("missing.mp4") }).catch((e) => e);
    expect(error).toBeInstanceOf(PermanentTaskError);
    expect(error.code).toBe("input_unavailable");
  });
});
