/**
 * The payload of a `local_media` worker job, one shape per op. The local providers build it at
 * submit; the worker checks it again (a malformed job fails for good, no retries).
 */
import { z } from "zod";
import type { TaskKind } from "../../engine/task-routes.ts";

export const LOCAL_MEDIA_KIND = "local_media" satisfies TaskKind;
/** Clips sit on one fixed fps grid, so durations are whole frames and audio never drifts. */
export const LOCAL_FPS = 24;

const output = z.object({ bucket: z.string().min(1), path: z.string().min(1) }).strict();
const dimension = z.number().int().min(16).max(4096);
/** The longest clip or track a local job makes. */
export const LOCAL_MEDIA_MAX_SECONDS = 600;
const seconds = z.number().positive().max(LOCAL_MEDIA_MAX_SECONDS);
const mediaUrl = z.string().regex(/^https?:\/\//, "an http(s) URL");

export const localMediaPayload = z.discriminatedUnion("op", [
  z.object({
    op: z.literal("image"),
    prompt: z.string().min(1),
    width: dimension,
    height: dimension,
    purpose: z.enum(["location", "character", "poster", "end_frame", "thumbnail"]).default("location"),
    output,
  }).strict(),
  z.object({
    op: z.literal("video"),
    caption: z.string().min(1),
    /** The first frame; a drawn backdrop when absent (text to video). */
    imageUrl: mediaUrl.nullable(),
    width: dimension,
    height: dimension,
    durationSeconds: seconds,
    output,
  }).strict(),
  z.object({ op: z.literal("voice"), voiceId: z.string().min(1), text: z.string().min(1).max(5000), output })
    .strict(),
  z.object({ op: z.literal("music"), prompt: z.string().min(1), durationSeconds: seconds, output }).strict(),
  z.object({ op: z.literal("lipsync"), videoUrl: mediaUrl, audioUrl: mediaUrl, output }).strict(),
]);

export type LocalMediaPayload = z.infer<typeof localMediaPayload>;
export type LocalMediaOp = LocalMediaPayload["op"];

/** What every local_media job answers: the uploaded file and the facts about it. */
export interface LocalMediaResult {
  [key: string]: unknown;
  url: string;
  contentType: string;
  durationSeconds: number | null;
  width?: number;
  height?: number;
}
