/**
 * FFmpeg's answers kept by the file's bytes (shared/media/kept-by-bytes.ts): probeMedia and the
 * grade's colour measure, counted with an ffprobe and an ffmpeg on PATH that note each run and
 * hand over to the real ones.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MediaCommandError } from "../../shared/media/ffmpeg-process.ts";
import { probeMedia } from "../../shared/media/media-probe.ts";
import { gradeClips } from "../../shared/render/clip-grade.ts";

const dir = mkdtempSync(join(tmpdir(), "reelforge-media-probe-"));
const runs = join(dir, "runs");
const real = (command: string) => execFileSync("sh", ["-c", `command -v ${command}`]).toString().trim();
const path = process.env.PATH;

beforeAll(() => {
  const bin = join(dir, "bin");
  execFileSync("mkdir", [bin]);
  for (const command of ["ffprobe", "ffmpeg"]) {
    writeFileSync(
      join(bin, command),
      `#!/bin/sh\necho "${command} $*" >> '${runs}'\nexec '${real(command)}' "$@"\n`,
      { mode: 0o755 },
    );
  }
  process.env.PATH = `${bin}:${path}`;
});
afterAll(() => {
  process.env.PATH = path;
  rmSync(dir, { recursive: true, force: true });
});

const runsOf = (what: RegExp) => {
  try {
    return readFileSync(runs, "utf8").trim().split("\n").filter((line) => what.test(line)).length;
  } catch {
    return 0;
  }
};
const probeRuns = () => runsOf(/^ffprobe /);
const measureRuns = () => runsOf(/^ffmpeg .*signalstats/);

function clip(name: string, seconds: number): string {
  const file = join(dir, name);
  execFileSync("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-y"],
    ...["-f", "lavfi", "-i", `testsrc2=s=160x90:r=24:d=${seconds}`],
    ...["-f", "lavfi", "-i", `sine=frequency=440:duration=${seconds}`],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", file],
  ]);
  return file;
}

describe("probeMedia", () => {
  it("runs ffprobe once for the same bytes, under any name with the same extension", async () => {
    const first = clip("made.mp4", 1);
    const before = probeRuns();
    const info = await probeMedia(first);
    expect(probeRuns()).toBe(before + 1);
    expect(info.durationSeconds).toBeCloseTo(1, 1);
    expect(info.video).toMatchObject({ width: 160, height: 90, fps: 24, frames: 24 });
    expect(info.audio).toMatchObject({ codec: "aac", sampleRate: 44100 });

    // The next job downloads the same clip to a file of its own.
    const copy = join(dir, "downloaded.mp4");
    copyFileSync(first, copy);
    const again = await probeMedia(copy);
    expect(again).toEqual(info);
    expect(probeRuns()).toBe(before + 1);

    // A caller changing its answer changes nothing kept.
    again.video!.frames = 0;
    expect((await probeMedia(first)).video!.frames).toBe(24);
    expect(probeRuns()).toBe(before + 1);
  });

  it("probes other bytes, or the same bytes under another extension, anew", async () => {
    const one = clip("one.mp4", 1);
    const two = clip("two.mp4", 2);
    await probeMedia(one);
    const before = probeRuns();
    expect((await probeMedia(two)).durationSeconds).toBeCloseTo(2, 1);
    expect(probeRuns()).toBe(before + 1);

    // One byte more at the end: other bytes, so FFmpeg is asked again.
    const grown = join(dir, "grown.mp4");
    copyFileSync(one, grown);
    appendFileSync(grown, Buffer.from([0]));
    await probeMedia(grown);
    expect(probeRuns()).toBe(before + 2);

    // FFmpeg may guess a format from the name's extension: another one is another probe.
    const renamed = join(dir, "one.mov");
    copyFileSync(one, renamed);
    await probeMedia(renamed);
    expect(probeRuns()).toBe(before + 3);
  });

  it("keeps no failure: a file FFmpeg refuses is refused by FFmpeg every time", async () => {
    const notes = join(dir, "notes.mp4");
    writeFileSync(notes, "not a film");
    const before = probeRuns();
    for (let i = 0; i < 2; i++) {
      const error = await probeMedia(notes).catch((e) => e);
      expect(error).toBeInstanceOf(MediaCommandError);
      expect(error.exitCode).toBe(1);
    }
    expect(probeRuns()).toBe(before + 2);

    // A file that is not there is ffprobe's to report too.
    const missing = await probeMedia(join(dir, "missing.mp4")).catch((e) => e);
    expect(missing).toBeInstanceOf(MediaCommandError);
    expect(probeRuns()).toBe(before + 3);
  });
});

describe("the grade's colour measure", () => {
  it("measures a stretch of the same bytes once, another stretch or other bytes anew", async () => {
    const one = clip("grade-one.mp4", 2);
    const two = clip("grade-two.mp4", 1);
    const timeline = (frames: number[][]) => ({
      fps: 24,
      width: 160,
      height: 90,
      clips: frames.map(([inFrame, outFrame], i) => ({ url: `clip-${i}`, inFrame, outFrame })),
      dialogue: [],
      grade: { target: "#c08040", strength: 0.5, contrast: 1, saturation: 1 },
    });
    const before = measureRuns();
    const first = await gradeClips(timeline([[0, 24], [0, 24]]), [one, two], {});
    expect(measureRuns()).toBe(before + 2);
    expect(first[0]).toContain("lutyuv");

    // The film assembled again: the same clips, as the next job downloaded them.
    const again = join(dir, "grade-one-again.mp4");
    copyFileSync(one, again);
    expect(await gradeClips(timeline([[0, 24], [0, 24]]), [again, two], {})).toEqual(first);
    expect(measureRuns()).toBe(before + 2);

    // Another stretch of the first clip is measured.
    await gradeClips(timeline([[24, 48]]), [one], {});
    expect(measureRuns()).toBe(before + 3);
  });
});
