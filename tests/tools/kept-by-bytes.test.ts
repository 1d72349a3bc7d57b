/**
 * probeMedia answers from memory for bytes it has probed before (shared/media/media-probe.ts):
 * counted with an ffprobe on PATH that notes each run and hands over to the real one.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MediaCommandError } from "../../shared/media/ffmpeg-process.ts";
import { probeMedia } from "../../shared/media/media-probe.ts";

const dir = mkdtempSync(join(tmpdir(), "reelforge-media-probe-"));
const runs = join(dir, "runs");
const realFfprobe = execFileSync("sh", ["-c", "command -v ffprobe"]).toString().trim();
const path = process.env.PATH;

beforeAll(() => {
  const bin = join(dir, "bin");
  execFileSync("mkdir", [bin]);
  writeFileSync(
    join(bin, "ffprobe"),
    `#!/bin/sh\necho "$*" >> '${runs}'\nexec '${realFfprobe}' "$@"\n`,
    { mode: 0o755 },
  );
  process.env.PATH = `${bin}:${path}`;
});
afterAll(() => {
  process.env.PATH = path;
  rmSync(dir, { recursive: true, force: true });
});

const probeRuns = () => {
  try {
    return readFileSync(runs, "utf8").trim().split("\n").length;
  } catch {
    return 0;
  }
};

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
