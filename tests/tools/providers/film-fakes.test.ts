import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBeatovenMusic } from "../../../shared/providers/beatoven/beatoven-music.ts";
import { createElevenLabsVoice } from "../../../shared/providers/elevenlabs/elevenlabs-voice.ts";
import { createFalImage } from "../../../shared/providers/fal/fal-image.ts";
import { createRunwayVideo } from "../../../shared/providers/runway/runway-video.ts";
import { createSyncLipsync } from "../../../shared/providers/sync/sync-lipsync.ts";
import type { JobProvider, JobState, UrlOutput } from "../../../shared/providers/types.ts";
import { currentPhase } from "../../fakes/fixed-latency.ts";
import { type Fakes, startFakes } from "../../fakes/start-fakes.ts";

const L = 400;
const dir = mkdtempSync(join(tmpdir(), "reelforge-film-fakes-"));

/** Seconds of media behind a URL, measured by ffprobe. */
async function durationOf(url: string, name: string): Promise<number> {
  const file = join(dir, name);
  writeFileSync(file, new Uint8Array(await (await fetch(url)).arrayBuffer()));
  return Number(
    execFileSync("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", file])
      .toString().trim(),
  );
}

async function pollUntilDone<R>(provider: JobProvider<R, UrlOutput>, jobId: string) {
  const seen: string[] = [];
  for (;;) {
    const state: JobState<UrlOutput> = await provider.poll(jobId);
    seen.push(state.state);
    if (state.state === "succeeded" || state.state === "failed") return { state, seen };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("fakes at a fixed latency", () => {
  let fakes: Fakes;
  beforeAll(async () => {
    fakes = await startFakes();
    fakes.configureFilm({ llm: 0, image: L, video: L, voice: L, lipsync: L, music: L });
  });
  afterAll(async () => {
    await fakes.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("move a job by time, not by polls: pending until L, then its last phase", () => {
    const job = { createdAt: 1_000, polls: 0 };
    const phases = ["PENDING", "RUNNING", "SUCCEEDED"];
    expect(currentPhase(phases, job, 1_000, 1_000)).toBe("PENDING");
    expect(currentPhase(phases, job, 1_000, 1_600)).toBe("RUNNING");
    expect(currentPhase(phases, job, 1_000, 1_999)).toBe("RUNNING");
    expect(currentPhase(phases, job, 1_000, 2_000)).toBe("SUCCEEDED");
    expect(currentPhase(["FAILED"], { createdAt: 0, polls: 0 }, 1_000, 0)).toBe("FAILED");
    // Without a latency: one phase per poll, as the adapter unit tests expect.
    const counted = { createdAt: 0, polls: 0 };
    expect([0, 1, 2, 3].map(() => currentPhase(phases, counted, null))).toEqual([
      "PENDING",
      "RUNNING",
      "SUCCEEDED",
      "SUCCEEDED",
    ]);
  });

  it("Runway answers SUCCEEDED L ms after the create, with an MP4 of the requested duration", async () => {
    const video = createRunwayVideo({ ...fakes.adapterOptions("runway"), model: "gen4.5" });
    const started = Date.now();
    const jobId = await video.submit({
      promptText: "harbour at dusk",
      ratio: "1280:720",
      durationSeconds: 3,
    });
    const { state, seen } = await pollUntilDone(video, jobId);
    expect(Date.now() - started).toBeGreaterThanOrEqual(L);
    expect(seen.length).toBeGreaterThan(2);
    expect(state.state).toBe("succeeded");
    const url = (state as { output: UrlOutput }).output.url;
    expect(url).toBe(fakes.runway.fileUrl("clip-3s.mp4"));
    expect(await durationOf(url, "clip.mp4")).toBeCloseTo(3, 1);
  });

  it("Runway scripts the matching create only, leaving the others to succeed", async () => {
    fakes.runway.scriptWhen((body) => String(body.promptText).includes("doomed"), {
      phases: ["PENDING", "FAILED"],
      failureCode: "SAFETY.INPUT.TEXT",
    });
    const video = createRunwayVideo({ ...fakes.adapterOptions("runway"), model: "gen4.5" });
    const [doomed, fine] = await Promise.all([
      video.submit({ promptText: "a doomed scene", ratio: "1280:720", durationSeconds: 2 }),
      video.submit({ promptText: "a fine scene", ratio: "1280:720", durationSeconds: 2 }),
    ]);
    expect((await pollUntilDone(video, doomed)).state).toMatchObject({
      state: "failed",
      failureCode: "SAFETY.INPUT.TEXT",
    });
    expect((await pollUntilDone(video, fine)).state.state).toBe("succeeded");
    fakes.clearScripts();
  });

  it("fal, sync and Beatoven take L too; sync hands back the clip voicing the line, Beatoven a track of the asked length", async () => {
    const image = createFalImage({ ...fakes.adapterOptions("fal"), model: "fal-ai/flux/schnell" });
    const lipsync = createSyncLipsync({ ...fakes.adapterOptions("sync"), model: "lipsync-2" });
    const music = createBeatovenMusic({ ...fakes.adapterOptions("beatoven"), model: "maestro" });
    const started = Date.now();
    const [imageJob, lipsyncJob, musicJob] = await Promise.all([
      image.submit({ prompt: "a lighthouse", width: 1024, height: 576 }),
      lipsync.submit({
        videoUrl: fakes.runway.fileUrl("clip-3s.mp4"),
        audioUrl: fakes.elevenlabs.fileUrl("line.mp3"),
      }),
      music.submit({ prompt: "calm strings", durationSeconds: 6 }),
    ]);
    const [imageDone, lipsyncDone, musicDone] = await Promise.all([
      pollUntilDone(image, imageJob),
      pollUntilDone(lipsync, lipsyncJob),
      pollUntilDone(music, musicJob),
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(L);
    expect(imageDone.state.state).toBe("succeeded");
    const lipsyncUrl = (lipsyncDone.state as { output: UrlOutput }).output.url;
    // sync_mode cut_off (the adapter's default): as long as the shorter input, the 1 s line.
    const line = await durationOf(fakes.elevenlabs.fileUrl("line.mp3"), "line.mp3");
    expect(Math.abs(await durationOf(lipsyncUrl, "lipsync.mp4") - line)).toBeLessThanOrEqual(0.1);
    expect(await durationOf((musicDone.state as { output: UrlOutput }).output.url, "music.mp3")).toBeCloseTo(
      6,
      0,
    );
  });

  it("ElevenLabs answers after L with an MP3 as long as its alignment", async () => {
    const voice = createElevenLabsVoice({
      ...fakes.adapterOptions("elevenlabs"),
      model: "eleven_flash_v2_5",
    });
    const started = Date.now();
    const text = "Twenty-five characters!!";
    const spoken = await voice.speak({ voiceId: "abc123", text });
    expect(Date.now() - started).toBeGreaterThanOrEqual(L);
    writeFileSync(join(dir, "line.mp3"), spoken.audio);
    const seconds = Number(
      execFileSync("ffprobe", [
        "-v",
        "error",
        "-show_entries",
        "format=duration",
        "-of",
        "csv=p=0",
        join(dir, "line.mp3"),
      ]).toString(),
    );
    expect(seconds).toBeCloseTo(text.length * 0.06, 0);
  });

  it("count paid submissions per provider and forget them on reset", () => {
    const counts = fakes.submissions();
    expect(counts.runway.total).toBe(3);
    expect(counts.runway.maxPerInput).toBe(1);
    expect(counts.elevenlabs.total).toBe(1);
    fakes.resetCounters();
    expect(fakes.submissions().runway).toEqual({ total: 0, maxPerInput: 0, inputs: 0 });
  });

  it("Runway serves clips at the ratio's pixels when asked to (clipSize: ratio), as Runway delivers them", async () => {
    fakes.runway.configure({ clipSize: "ratio" });
    try {
      const video = createRunwayVideo({ ...fakes.adapterOptions("runway"), model: "gen4.5" });
      const jobId = await video.submit({
        promptText: "harbour at night",
        ratio: "1280:720",
        durationSeconds: 2,
      });
      const { state } = await pollUntilDone(video, jobId);
      const url = (state as { output: UrlOutput }).output.url;
      expect(url).toBe(fakes.runway.fileUrl("clip-2s-1280x720.mp4"));
      const file = join(dir, "ratio.mp4");
      writeFileSync(file, new Uint8Array(await (await fetch(url)).arrayBuffer()));
      const size = execFileSync("ffprobe", [
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=width,height",
        "-of",
        "csv=p=0",
        file,
      ]).toString().trim();
      expect(size).toBe("1280,720");
    } finally {
      fakes.runway.configure({ clipSize: "small" });
    }
  });
});
