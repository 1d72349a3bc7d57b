import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PermanentTaskError } from "../../shared/errors.ts";
import { LOCAL_FPS } from "../../shared/providers/local/local-media-payload.ts";
import { runLocalMediaJob } from "../../shared/providers/local/local-media-job.ts";
import { probeMedia } from "../../shared/media/media-probe.ts";
import type { WorkerJobIo } from "../../shared/worker/worker-job.ts";
import { createJobIo } from "../../shared/worker/worker-job-io.ts";
import { taskObjects } from "../../shared/storage/owner-objects.ts";
import { connect } from "../support/stack.ts";
import { removeUnder, stackStorage } from "../support/stack-storage.ts";

// Real FFmpeg, espeak-ng and ffprobe; files go to the stack's Storage (the private media bucket)
// and come back through its API with the service role, the way a render worker fetches them.
const bucket = "media";
const prefix = `tests/local-media-${crypto.randomUUID()}`;
const sql = connect(1);
const storage = stackStorage(sql);
const frame = 1 / LOCAL_FPS;
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "local-media-"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
  await removeUnder(sql, bucket, prefix);
  await sql.end();
});

async function io(signal = new AbortController().signal): Promise<WorkerJobIo> {
  const workDir = await mkdtemp(join(scratch, "job-"));
  // A job no user started: its files are under this file's own prefix.
  return createJobIo({
    workDir,
    storage,
    signal,
    heartbeat: async () => {},
    readable: taskObjects(null, bucket),
    fetchesElsewhere: true,
  });
}

/** Downloads a job's output as the worker would and probes it. */
async function probeUrl(url: string, name: string) {
  const jobIo = await io();
  return probeMedia(await jobIo.fetchToFile(url, name));
}

const output = (name: string) => ({ bucket, path: `${prefix}/${name}` });

describe("runLocalMediaJob", () => {
  let imageUrl: string;
  let clipUrl: string;
  let voiceUrl: string;

  it("draws an image of the requested size and uploads it as PNG", async () => {
    const result = await runLocalMediaJob(
      {
        op: "image",
        prompt: "A lighthouse at dusk, 100% 'quoted' {braces} %{pts}",
        width: 640,
        height: 360,
        purpose: "location",
        output: output("image.png"),
      },
      await io(),
    );
    expect(result).toMatchObject({ contentType: "image/png", width: 640, height: 360 });
    const probe = await probeUrl(result.url as string, "image.png");
    expect(probe.video).toMatchObject({ width: 640, height: 360, codec: "png" });
    imageUrl = result.url as string;
  });

  it("moves a camera over the reference image for exactly the requested whole frames", async () => {
    const result = await runLocalMediaJob(
      {
        op: "video",
        caption: "Ada crosses the harbour",
        imageUrl,
        width: 480,
        height: 270,
        durationSeconds: 2.5,
        output: output("clip.mp4"),
      },
      await io(),
    );
    const probe = await probeUrl(result.url as string, "clip.mp4");
    expect(probe.video).toMatchObject({
      width: 480,
      height: 270,
      codec: "h264",
      pixFmt: "yuv420p",
      frames: Math.round(2.5 * LOCAL_FPS),
    });
    expect(Math.abs(probe.durationSeconds - 2.5)).toBeLessThanOrEqual(frame);
    expect(result.durationSeconds).toBeCloseTo(60 / LOCAL_FPS, 6);
    clipUrl = result.url as string;
  });

  it("speaks a line with espeak-ng and reports its real duration", async () => {
    const result = await runLocalMediaJob({
      op: "voice",
      voiceId: "narrator-1",
      text: "We are close to the harbour.",
      output: output("line.mp3"),
    }, await io());
    const probe = await probeUrl(result.url as string, "line.mp3");
    expect(probe.audio?.codec).toBe("mp3");
    expect(probe.durationSeconds).toBeGreaterThan(0.8);
    expect(Math.abs(probe.durationSeconds - (result.durationSeconds as number))).toBeLessThanOrEqual(frame);
    voiceUrl = result.url as string;
  });

  it("synthesizes music of the exact requested duration", async () => {
    const result = await runLocalMediaJob({
      op: "music",
      prompt: "a calm harbour at dusk",
      durationSeconds: 3.2,
      output: output("music.mp3"),
    }, await io());
    const probe = await probeUrl(result.url as string, "music.mp3");
    expect(probe.audio).toMatchObject({ codec: "mp3", sampleRate: 44100 });
    expect(Math.abs(probe.durationSeconds - 3.2)).toBeLessThanOrEqual(frame);
  });

  it("lip-syncs by muxing the voice under the untouched clip, keeping the clip's length", async () => {
    const result = await runLocalMediaJob({
      op: "lipsync",
      videoUrl: clipUrl,
      audioUrl: voiceUrl,
      output: output("synced.mp4"),
    }, await io());
    const probe = await probeUrl(result.url as string, "synced.mp4");
    expect(probe.video).toMatchObject({ width: 480, height: 270, codec: "h264", frames: 60 });
    expect(probe.audio?.codec).toBe("aac");
    expect(Math.abs(probe.durationSeconds - 2.5)).toBeLessThanOrEqual(frame);
  });

  it("fails a malformed payload for good, naming the field", async () => {
    const error = await runLocalMediaJob({
      op: "video",
      caption: "x",
      imageUrl: null,
      width: 10,
      height: 270,
      durationSeconds: 2,
      output: output("bad.mp4"),
    }, await io())
      .catch((e) => e);
    expect(error).toBeInstanceOf(PermanentTaskError);
    expect(error.message).toContain("width");
  });

  it("kills FFmpeg when the job's signal aborts", async () => {
    const abort = new AbortController();
    const running = runLocalMediaJob(
      {
        op: "video",
        caption: "a long clip",
        imageUrl: null,
        width: 1280,
        height: 720,
        durationSeconds: 120,
        output: output("aborted.mp4"),
      },
      await io(abort.signal),
    );
    setTimeout(() => abort.abort(), 500);
    await expect(running).rejects.toThrow(/aborted/);
    expect(await storage.download(bucket, `${prefix}/aborted.mp4`)).toBeNull();
  });
});
