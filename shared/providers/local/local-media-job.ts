/**
 * The worker side of the offline providers: runs one `local_media` job (image, video, voice,
 * music, lipsync) with FFmpeg / espeak-ng in the job's scratch dir, uploads the file to the
 * payload's Storage path and answers { url, contentType, durationSeconds }.
 */
import { readFile } from "node:fs/promises";
import { PermanentTaskError } from "../../errors.ts";
import { probeMedia } from "../../media/media-probe.ts";
import type { WorkerJobHandler, WorkerJobIo } from "../../worker/worker-job.ts";
import {
  LOCAL_FPS,
  type LocalMediaPayload,
  localMediaPayload,
  type LocalMediaResult,
} from "./local-media-payload.ts";
import { cameraMove } from "./media/camera-move.ts";
import { drawImage } from "./media/draw-image.ts";
import { muxVoiceOntoClip, speakText, synthMusic } from "./media/synth-audio.ts";

async function upload(
  io: WorkerJobIo,
  file: string,
  output: { bucket: string; path: string },
  contentType: string,
) {
  // Paths are derived from the payload, so a retried job overwrites its own earlier attempt.
  await io.storage.upload(output.bucket, output.path, await readFile(file), {
    contentType,
    upsert: true,
    cacheControl: "31536000",
  });
  return io.storage.publicUrl(output.bucket, output.path);
}

async function produce(job: LocalMediaPayload, io: WorkerJobIo): Promise<LocalMediaResult> {
  const { workDir, signal } = io;
  switch (job.op) {
    case "image": {
      const file = await drawImage({ ...job, workDir, signal });
      return {
        url: await upload(io, file, job.output, "image/png"),
        contentType: "image/png",
        durationSeconds: null,
        width: job.width,
        height: job.height,
      };
    }
    case "video": {
      const imageFile = job.imageUrl ? await io.fetchToFile(job.imageUrl, "reference") : await drawImage({
        prompt: job.caption,
        width: job.width,
        height: job.height,
        purpose: "location",
        workDir,
        signal,
      });
      await io.heartbeat();
      const frames = Math.max(1, Math.round(job.durationSeconds * LOCAL_FPS));
      const file = await cameraMove({
        imageFile,
        caption: job.caption,
        width: job.width,
        height: job.height,
        frames,
        fps: LOCAL_FPS,
        workDir,
        signal,
      });
      return {
        url: await upload(io, file, job.output, "video/mp4"),
        contentType: "video/mp4",
        durationSeconds: frames / LOCAL_FPS,
        width: job.width,
        height: job.height,
      };
    }
    case "voice": {
      const file = await speakText({ ...job, workDir, signal });
      const { durationSeconds } = await probeMedia(file, { signal });
      return {
        url: await upload(io, file, job.output, "audio/mpeg"),
        contentType: "audio/mpeg",
        durationSeconds,
      };
    }
    case "music": {
      const file = await synthMusic({ ...job, workDir, signal });
      return {
        url: await upload(io, file, job.output, "audio/mpeg"),
        contentType: "audio/mpeg",
        durationSeconds: job.durationSeconds,
      };
    }
    case "lipsync": {
      const videoFile = await io.fetchToFile(job.videoUrl, "clip");
      const audioFile = await io.fetchToFile(job.audioUrl, "voice");
      const clip = await probeMedia(videoFile, { signal });
      if (!clip.video) {
        throw new PermanentTaskError(
          "invalid_media",
          `lipsync videoUrl has no video stream: ${job.videoUrl}`,
        );
      }
      await io.heartbeat();
      const file = await muxVoiceOntoClip({
        videoFile,
        audioFile,
        durationSeconds: clip.durationSeconds,
        workDir,
        signal,
      });
      return {
        url: await upload(io, file, job.output, "video/mp4"),
        contentType: "video/mp4",
        durationSeconds: clip.durationSeconds,
        width: clip.video.width,
        height: clip.video.height,
      };
    }
  }
}

export const runLocalMediaJob: WorkerJobHandler = async (payload, io) => {
  const parsed = localMediaPayload.safeParse(payload);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) =>
      `${issue.path.join(".") || "(payload)"}: ${issue.message}`
    );
    throw new PermanentTaskError("invalid_payload", `local_media job: ${problems.join("; ")}`);
  }
  return await produce(parsed.data, io);
};
