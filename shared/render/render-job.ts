/**
 * The `render` worker job: a RenderRequest in, a file in Storage out. Inputs are downloaded to the
 * job's scratch dir, FFmpeg runs as a child killed when the lease is lost, and the result names
 * the path taken (stream copy or re-encode) so callers and tests can see it.
 */
import { createReadStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { PermanentTaskError } from "../errors.ts";
import type { RenderRequest, Timeline } from "../providers/types.ts";
import type { WorkerJobHandler, WorkerJobIo } from "../worker/worker-job.ts";
import { isSilent, type LoudnessStep, parseLoudnorm } from "./audio-graph.ts";
import { buildAssembleArgs, concatList, type X264Preset } from "./assemble-command.ts";
import { chooseAssemblyPath } from "./assembly-path.ts";
import { gradeClips } from "./clip-grade.ts";
import { buildDialogueTrackArgs, DIALOGUE_TRACK_CONTENT_TYPE } from "./dialogue-track-command.ts";
import { MediaCommandError, type MediaCommandOptions, runMediaCommand } from "../media/ffmpeg-process.ts";
import { buildLastFrameArgs } from "./frame-command.ts";
import { type MediaInfo, probeMedia } from "../media/media-probe.ts";
import { checkRenderRequest } from "../providers/render-request.ts";

export interface RenderJobOptions {
  /** Sees every FFmpeg child's pid (the benchmark samples their memory). */
  onSpawn?: (pid: number) => void;
  /** The re-encode path's x264 preset (assemble-command.ts; default veryfast). */
  x264Preset?: X264Preset;
}

type Output = { bucket: string; path: string };

export function createRenderJob(options: RenderJobOptions = {}): WorkerJobHandler {
  return async function runRenderJob(payload, io) {
    const check = checkRenderRequest(payload);
    if (!check.ok) throw new PermanentTaskError("invalid_render_request", check.problems.join("; "));
    const run: MediaCommandOptions = { signal: io.signal, cwd: io.workDir, onSpawn: options.onSpawn };
    const request = check.request;
    if (request.op === "extract_last_frame") {
      return await extractLastFrame(request.clipUrl, request.output, io, run);
    }
    if (request.op === "dialogue_track") return await renderDialogueTrack(request, io, run);
    if (request.op === "mix_dialogue") {
      const clip = await fetchAndProbe(io, request.clipUrl, "clip-0", run);
      return await assemble(mixTimeline(request, clip), [clip], request.output, io, run, options.x264Preset);
    }
    const clips = await Promise.all(
      request.timeline.clips.map((c, i) => fetchAndProbe(io, c.url, `clip-${i}`, run)),
    );
    return await assemble(request.timeline, clips, request.output, io, run, options.x264Preset);
  };
}

/** The default handler, registered for kind `render`. */
export const runRenderJob: WorkerJobHandler = createRenderJob();

interface Fetched extends MediaInfo {
  file: string;
}

async function fetchAndProbe(
  io: WorkerJobIo,
  url: string,
  name: string,
  run: MediaCommandOptions,
): Promise<Fetched> {
  const file = await io.fetchToFile(url, name);
  const info = await probeMedia(file, run).catch((error) => {
    // Only ffprobe's own refusal says the file is bad. One stopped by a signal (its worker shutting
    // down: a supervisor signals the worker's process group) is retried: before, a paused render
    // worker failed its jobs for good as unreadable, and the film with them.
    if (error instanceof MediaCommandError && error.exitCode === null) throw error;
    throw new PermanentTaskError("unreadable_media", `${url} is not a media file FFmpeg can read`);
  });
  return { ...info, file };
}

// Dialogue onto one scene clip is a one-clip timeline: whole clip, so the video is stream-copied.
function mixTimeline(request: Extract<RenderRequest, { op: "mix_dialogue" }>, clip: Fetched): Timeline {
  if (!clip.video) throw new PermanentTaskError("unreadable_media", `${request.clipUrl} has no video stream`);
  const frames = Math.abs(clip.video.fps - request.fps) < 1e-3
    ? clip.video.frames
    : Math.round(clip.durationSeconds * request.fps);
  return {
    fps: request.fps,
    width: clip.video.width - (clip.video.width % 2),
    height: clip.video.height - (clip.video.height % 2),
    clips: [{ url: request.clipUrl, inFrame: 0, outFrame: frames }],
    dialogue: request.dialogue,
  };
}

async function assemble(
  timeline: Timeline,
  clips: Fetched[],
  output: Output,
  io: WorkerJobIo,
  run: MediaCommandOptions,
  x264Preset?: X264Preset,
) {
  clips.forEach((clip, i) => {
    if (!clip.video) {
      throw new PermanentTaskError(
        "unreadable_media",
        `timeline clip ${i} (${timeline.clips[i].url}) has no video stream`,
      );
    }
  });
  const dialogue = await Promise.all(
    timeline.dialogue.map((d, i) => fetchAndProbe(io, d.url, `dialogue-${i}`, run)),
  );
  const music = timeline.music ? await fetchAndProbe(io, timeline.music.url, "music", run) : null;
  const decision = chooseAssemblyPath(timeline, clips);
  const concatListFile = join(io.workDir, "clips.txt");
  await writeFile(concatListFile, concatList(clips.map((c) => c.file)));
  const outputFile = join(io.workDir, "output.mp4");
  const clipGrades = decision.path === "re_encode"
    ? await gradeClips(timeline, clips.map((c) => c.file), run)
    : [];
  if (clipGrades.length > 0) await io.heartbeat();
  const inputs = {
    timeline,
    path: decision.path,
    clipFiles: clips.map((c) => c.file),
    clipHasAudio: clips.map((c) => c.audio !== null),
    concatListFile,
    dialogue: dialogue.map((d) => ({ file: d.file, durationSeconds: d.durationSeconds })),
    musicFile: music?.file ?? null,
    outputFile,
    clipGrades,
    x264Preset,
  };
  // Two-pass loudnorm: measure the mix, then apply that measurement as one linear gain.
  const measured = parseLoudnorm(
    (await runMediaCommand("ffmpeg", buildAssembleArgs({ ...inputs, loudness: "measure" }), run)).stderr,
  );
  await io.heartbeat();
  const loudness: LoudnessStep = isSilent(measured) ? "off" : measured;
  await runMediaCommand("ffmpeg", buildAssembleArgs({ ...inputs, loudness }), run);
  const rendered = await probeMedia(outputFile, run);
  const url = await upload(io, outputFile, output, "video/mp4");
  return {
    url,
    contentType: "video/mp4",
    durationSeconds: rendered.durationSeconds,
    renderPath: decision.path,
    reEncodeReason: decision.reason,
    measuredLufs: loudness === "off" ? null : Number(measured.input_i),
    graded: clipGrades.length > 0,
  };
}

async function renderDialogueTrack(
  request: Extract<RenderRequest, { op: "dialogue_track" }>,
  io: WorkerJobIo,
  run: MediaCommandOptions,
) {
  const lines = await Promise.all(
    request.dialogue.map((d, i) => fetchAndProbe(io, d.url, `dialogue-${i}`, run)),
  );
  const outputFile = join(io.workDir, "dialogue.m4a");
  await runMediaCommand(
    "ffmpeg",
    buildDialogueTrackArgs({
      fps: request.fps,
      durationFrames: request.durationFrames,
      dialogue: request.dialogue.map((d, i) => ({
        ...d,
        file: lines[i].file,
        durationSeconds: lines[i].durationSeconds,
      })),
      outputFile,
    }),
    run,
  );
  const rendered = await probeMedia(outputFile, run);
  const url = await upload(io, outputFile, request.output, DIALOGUE_TRACK_CONTENT_TYPE);
  return { url, contentType: DIALOGUE_TRACK_CONTENT_TYPE, durationSeconds: rendered.durationSeconds };
}

async function extractLastFrame(clipUrl: string, output: Output, io: WorkerJobIo, run: MediaCommandOptions) {
  const clip = await fetchAndProbe(io, clipUrl, "clip-0", run);
  if (!clip.video) throw new PermanentTaskError("unreadable_media", `${clipUrl} has no video stream`);
  const frameFile = join(io.workDir, "last-frame.png");
  await runMediaCommand("ffmpeg", buildLastFrameArgs(clip.file, frameFile, clip.durationSeconds), run);
  const url = await upload(io, frameFile, output, "image/png");
  return { url, contentType: "image/png", width: clip.video.width, height: clip.video.height };
}

async function upload(io: WorkerJobIo, file: string, output: Output, contentType: string): Promise<string> {
  await io.heartbeat();
  // node:stream/web's ReadableStream and the global (DOM) one are the same object, typed apart.
  const body = Readable.toWeb(createReadStream(file)) as unknown as ReadableStream<Uint8Array>;
  await io.storage.upload(output.bucket, output.path, body, {
    contentType,
    upsert: true,
    cacheControl: "no-cache",
  });
  return io.storage.publicUrl(output.bucket, output.path);
}
