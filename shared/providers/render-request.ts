/**
 * Checks a render job's payload (a RenderRequest, shared/providers/types.ts) before any download:
 * the shape with zod, then the timeline's arithmetic. Problems come back as sentences that name
 * the field, so a bad timeline fails its task at once instead of after minutes of FFmpeg.
 */
import { z } from "zod";
import type { RenderRequest, Timeline } from "./types.ts";

const frame = z.number().int().min(0);
const mediaUrl = z.string().url().refine((url) => /^https?:\/\//.test(url), "must be an http(s) URL");
const output = z.object({ bucket: z.string().min(1), path: z.string().min(1) });

const audioTrack = z.object({
  url: mediaUrl,
  startFrame: frame,
  gainDb: z.number().min(-60).max(24).optional(),
});

const timelineSchema = z.object({
  fps: z.number().positive().max(120),
  width: z.number().int().min(16).max(7680).refine((n) => n % 2 === 0, "must be even (yuv420p)"),
  height: z.number().int().min(16).max(4320).refine((n) => n % 2 === 0, "must be even (yuv420p)"),
  clips: z.array(z.object({
    url: mediaUrl,
    inFrame: frame,
    outFrame: frame,
    transition: z.object({ type: z.enum(["cut", "fade", "dissolve"]), frames: frame }).optional(),
  })).min(1),
  dialogue: z.array(audioTrack),
  music: audioTrack.extend({ duckDb: z.number().min(-60).max(0).optional() }).optional(),
  speech: z.array(z.object({ startFrame: frame, frames: z.number().int().min(1) })).optional(),
  loudnessLufs: z.number().min(-40).max(-5).optional(),
  grade: z.object({
    target: z.string().regex(/^#[0-9a-fA-F]{6}$/, "must be #rrggbb"),
    strength: z.number().min(0).max(1),
    contrast: z.number().min(0.5).max(2),
    saturation: z.number().min(0).max(2),
  }).optional(),
});

const requestSchema = z.discriminatedUnion("op", [
  z.object({ op: z.literal("assemble"), timeline: timelineSchema, output }),
  z.object({
    op: z.literal("mix_dialogue"),
    clipUrl: mediaUrl,
    dialogue: z.array(audioTrack),
    fps: z.number().positive().max(120),
    output,
  }),
  z.object({ op: z.literal("extract_last_frame"), clipUrl: mediaUrl, output }),
  z.object({
    op: z.literal("dialogue_track"),
    fps: z.number().positive().max(120),
    durationFrames: z.number().int().min(1),
    dialogue: z.array(audioTrack),
    output,
  }),
]);

/** The length of each clip on the timeline, in frames. */
export const clipFrames = (timeline: Timeline) => timeline.clips.map((clip) => clip.outFrame - clip.inFrame);

/** Frames a clip shares with the next one (0 for cuts and for the last clip). */
export function overlapFrames(timeline: Timeline, index: number): number {
  const transition = timeline.clips[index].transition;
  if (index === timeline.clips.length - 1 || !transition || transition.type === "cut") return 0;
  return transition.frames;
}

/** The timeline's length in frames: clips end to end, minus what transitions overlap. */
export function timelineFrames(timeline: Timeline): number {
  const lengths = clipFrames(timeline);
  return lengths.reduce((sum, n, i) => sum + n - overlapFrames(timeline, i), 0);
}

/** What is wrong with a well-typed timeline; empty when it can be rendered. */
export function timelineProblems(timeline: Timeline): string[] {
  const problems: string[] = [];
  const lengths = clipFrames(timeline);
  timeline.clips.forEach((clip, i) => {
    if (lengths[i] <= 0) {
      problems.push(`clips[${i}]: outFrame (${clip.outFrame}) must be after inFrame (${clip.inFrame})`);
    }
    const t = clip.transition;
    if (t && t.type !== "cut" && t.frames === 0) {
      problems.push(`clips[${i}].transition: a ${t.type} needs at least 1 frame`);
    }
    if (i === timeline.clips.length - 1 && t && t.type !== "cut") {
      problems.push(`clips[${i}].transition: the last clip has no next clip to ${t.type} into`);
    }
  });
  // A clip's incoming and outgoing transitions both eat into it; they may not overlap each other.
  timeline.clips.forEach((_, i) => {
    const used = overlapFrames(timeline, i) + (i > 0 ? overlapFrames(timeline, i - 1) : 0);
    if (lengths[i] > 0 && used > lengths[i]) {
      problems.push(
        `clips[${i}]: its transitions take ${used} frames but the clip is ${lengths[i]} frames long`,
      );
    }
  });
  if (problems.length > 0) return problems;
  const total = timelineFrames(timeline);
  const late = [
    ...timeline.dialogue.map((d, i) => [`dialogue[${i}]`, d] as const),
    ...(timeline.music ? [["music", timeline.music] as const] : []),
  ]
    .filter(([, track]) => track.startFrame >= total);
  for (const [name, track] of late) {
    problems.push(`${name}: startFrame ${track.startFrame} is past the timeline's end (${total} frames)`);
  }
  return problems;
}

export type RenderRequestCheck = { ok: true; request: RenderRequest } | { ok: false; problems: string[] };

/** Parses a payload into a RenderRequest, or lists every problem with its field path. */
export function checkRenderRequest(payload: unknown): RenderRequestCheck {
  const parsed = requestSchema.safeParse(payload);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => `${issue.path.join(".") || "request"}: ${issue.message}`),
    };
  }
  const request = parsed.data as RenderRequest;
  const problems = request.op === "assemble"
    ? timelineProblems(request.timeline).map((p) => `timeline.${p}`)
    : request.op === "dialogue_track"
    ? request.dialogue.flatMap((d, i) =>
      d.startFrame >= request.durationFrames
        ? [
          `dialogue[${i}]: startFrame ${d.startFrame} is past the track's end (${request.durationFrames} frames)`,
        ]
        : []
    )
    : [];
  return problems.length > 0 ? { ok: false, problems } : { ok: true, request };
}
