/**
 * A film longer than its music, rendered by the real render job (FFmpeg, both loudness passes)
 * with in-memory Storage: the score plays again to the film's last frame instead of stopping.
 * Before, a 16 s film over a 15 s track went silent for its last second (−83 dB).
 */
import { spawnSync } from "node:child_process";
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Timeline } from "../../shared/providers/types.ts";
import { createRenderJob } from "../../shared/render/render-job.ts";
import type { WorkerJobIo } from "../../shared/worker/worker-job.ts";
import { createMemoryStorage } from "../fakes/memory-storage.ts";
import { durationOf, makeClip, makeTone } from "../support/render-media.ts";

const FPS = 24;
const storage = createMemoryStorage();
const sources = new Map<string, string>();
const source = (name: string, file: string) => {
  const url = `https://media.test/${name}`;
  sources.set(url, file);
  return url;
};

/** RMS level (dBFS) of the sound between two times; digital silence is -Infinity. */
function levelDb(file: string, startSeconds: number, endSeconds: number): number {
  const chain = `atrim=start=${startSeconds}:end=${endSeconds},astats`;
  const { stderr } = spawnSync("ffmpeg", [
    "-hide_banner",
    "-nostdin",
    "-i",
    file,
    "-map",
    "0:a",
    "-af",
    chain,
    "-f",
    "null",
    "-",
  ], {
    encoding: "utf8",
  });
  const level = stderr.slice(stderr.lastIndexOf("Overall")).match(/RMS level dB: (-inf|-?[\d.]+)/);
  if (!level) throw new Error(`no level measured in ${file}: ${stderr.slice(-400)}`);
  return level[1] === "-inf" ? -Infinity : Number(level[1]);
}

async function render(dir: string, timeline: Timeline, name: string): Promise<string> {
  const workDir = await mkdtemp(join(dir, "job-"));
  const io: WorkerJobIo = {
    workDir,
    storage,
    async fetchToFile(url, fileName) {
      const file = join(workDir, fileName);
      await copyFile(sources.get(url)!, file);
      return file;
    },
    async heartbeat() {},
    signal: new AbortController().signal,
  };
  await createRenderJob()({ op: "assemble", timeline, output: { bucket: "films", path: name } }, io);
  const file = join(dir, name);
  await writeFile(file, (await storage.download("films", name))!);
  return file;
}

describe("a film longer than its music (real FFmpeg)", () => {
  let dir: string;
  let clipUrl: string;
  let musicUrl: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "render-music-loop-"));
    clipUrl = source("clip.mp4", makeClip(dir, "clip.mp4", { seconds: 3, audio: "silent" }));
    // An MP3 like the music step stores, 2 s: a third of the film.
    musicUrl = source("music.mp3", makeTone(dir, "music.mp3", 2, 150, -10));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each(
    [
      ["stream-copied", "cut", 0],
      ["re-encoded", "dissolve", 12],
    ] as const,
  )("%s, plays the music to its last second, as loud as its first", async (_, type, frames) => {
    const timeline: Timeline = {
      fps: FPS,
      width: 320,
      height: 180,
      clips: [
        { url: clipUrl, inFrame: 0, outFrame: 72, transition: { type, frames } },
        { url: clipUrl, inFrame: 0, outFrame: 72 },
      ],
      dialogue: [],
      music: { url: musicUrl, startFrame: 0 },
    };
    const file = await render(dir, timeline, `${type}.mp4`);
    const seconds = (144 - frames) / FPS;
    // The loop ends with the picture: the film is as long as its timeline, not endless.
    expect(Math.abs(durationOf(file) - seconds)).toBeLessThanOrEqual(1 / FPS);
    const first = levelDb(file, 0.2, 1.2);
    const last = levelDb(file, seconds - 1, seconds - 0.05);
    expect(first).toBeGreaterThan(-40);
    // Silence measures -inf or near it; the music played again measures what it did at the start.
    expect(Math.abs(last - first), `first second ${first} dB, last ${last} dB`).toBeLessThanOrEqual(1.5);
  }, 60_000);
});
