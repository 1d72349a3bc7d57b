/**
 * The film's timeline from its assembled scenes: clips end to end on a 24 fps grid, transitions
 * from the screenplay's continuity (a continuation cuts, a new place dissolves, a new time of day
 * fades through black), each dialogue line at its scene's start + its timing, music under it all,
 * and the film's one grade (film-grade.ts) when it has a visual bible.
 */
import type { Timeline, TimelineAudio, TimelineClip, TimelineGrade } from "../providers/types.ts";

export const FILM_FPS = 24;
const DISSOLVE_FRAMES = 12;
const FADE_FRAMES = 24;

export interface TimelineScene {
  sceneNumber: number;
  url: string;
  durationSeconds: number;
  isContinuation: boolean;
  locationSlug: string;
  timeOfDay: string;
  lines: { url: string; startSeconds: number }[];
  /** Lines already in the clip's sound (lip-synced): not placed, only ducked under. */
  speech?: { startSeconds: number; durationSeconds: number }[];
}

/** What assembly needs of a movie_scenes row. */
export interface AssembledSceneRow {
  scene_number: number;
  clip_url: string | null;
  video_url: string | null;
  lipsync_url: string | null;
  duration_seconds: string | number;
  is_continuation: boolean;
  location_slug: string;
  time_of_day: string;
}

/**
 * Where a scene's lines are spoken: each at its screenplay timing, unless it would then run past
 * the scene's end or into the next line, in which case it starts early enough to end there
 * (never before the scene's start); lines too long to fit the scene overlap as little as they
 * can. The screenplay's timings are written before any line is spoken, so they cannot know a
 * line's length: a 5.7 s line timed at 13 s of a 15 s scene lost its last 3.7 s at the film's
 * end, and one timed near a scene's end ran over the next scene's first line. Read by everything that places lines (the scene's mix and lip sync, scene-tasks.ts;
 * the film's timeline, timelineScene) on `scene_audio` as stored. Lines in the order they are
 * spoken; a line of unknown length counts as ending where it starts.
 */
export function placeLines<T extends { startSeconds: number; durationSeconds: number | null }>(
  lines: readonly T[],
  sceneSeconds: number,
): T[] {
  const placed = lines.map((line) => ({ ...line }));
  const length = (line: T) => line.durationSeconds ?? 0;
  // From the last line back: each ends by the scene's end and by the next line's start.
  let end = sceneSeconds;
  for (let i = placed.length - 1; i >= 0; i--) {
    placed[i].startSeconds = Math.max(0, Math.min(placed[i].startSeconds, end - length(placed[i])));
    end = placed[i].startSeconds;
  }
  // Lines that cannot all fit were pushed to the scene's start, over each other: from the first
  // on, each waits for the one before as long as it still ends with the scene. (Lines that fit do
  // not move here: each already starts after the one before has ended.)
  let spoken = 0;
  for (const line of placed) {
    line.startSeconds = Math.max(
      0,
      Math.min(Math.max(line.startSeconds, spoken), sceneSeconds - length(line)),
    );
    spoken = line.startSeconds + length(line);
  }
  return placed;
}

/** Lip-synced while video_url is still the synced file (a new clip or plain mix moves video_url). */
export const isLipSynced = (row: Pick<AssembledSceneRow, "video_url" | "lipsync_url">) =>
  row.lipsync_url !== null && row.lipsync_url === row.video_url;

/**
 * A scene on the film timeline. Plainly, the raw clip with its lines placed on the timeline (so
 * music ducks under them); lip-synced, the synced clip, whose sound already is the dialogue, and
 * no lines, or they would play twice.
 */
export function timelineScene(
  row: AssembledSceneRow,
  lines: { url: string; startSeconds: number; durationSeconds: number | null }[],
): TimelineScene {
  const synced = isLipSynced(row);
  lines = placeLines(lines, Number(row.duration_seconds));
  return {
    sceneNumber: row.scene_number,
    url: synced ? row.video_url! : row.clip_url ?? row.video_url!,
    durationSeconds: Number(row.duration_seconds),
    isContinuation: row.is_continuation,
    locationSlug: row.location_slug,
    timeOfDay: row.time_of_day,
    lines: synced ? [] : lines.map(({ url, startSeconds }) => ({ url, startSeconds })),
    // Music still ducks under a synced scene's lines; a line of unknown length ducks to the clip's end.
    ...(synced
      ? {
        speech: lines.map((l) => ({
          startSeconds: l.startSeconds,
          durationSeconds: l.durationSeconds ?? Number(row.duration_seconds),
        })),
      }
      : {}),
  };
}

type Continuity = Pick<TimelineScene, "isContinuation" | "timeOfDay" | "locationSlug">;

export function transitionBetween(from: Continuity, to: Continuity): TimelineClip["transition"] {
  if (to.isContinuation) return { type: "cut", frames: 0 };
  if (from.timeOfDay !== to.timeOfDay) return { type: "fade", frames: FADE_FRAMES };
  if (from.locationSlug !== to.locationSlug) return { type: "dissolve", frames: DISSOLVE_FRAMES };
  return { type: "cut", frames: 0 };
}

/** Scenes must be sorted by scene number (selectClipsForAssembly does). */
export function buildFilmTimeline(
  scenes: TimelineScene[],
  size: { width: number; height: number },
  musicUrl: string | null,
  grade: TimelineGrade | null = null,
): Timeline {
  const clips: TimelineClip[] = [];
  const dialogue: TimelineAudio[] = [];
  const speech: NonNullable<Timeline["speech"]> = [];
  let start = 0;
  scenes.forEach((scene, i) => {
    const frames = Math.max(1, Math.round(scene.durationSeconds * FILM_FPS));
    const next = scenes[i + 1];
    let transition = next ? transitionBetween(scene, next) : undefined;
    // Both of a clip's transitions eat into it; never more than a third of it each.
    if (transition && transition.type !== "cut") {
      transition = { ...transition, frames: Math.min(transition.frames, Math.floor(frames / 3)) };
    }
    if (transition && transition.type !== "cut" && transition.frames < 1) {
      transition = { type: "cut", frames: 0 };
    }
    clips.push({ url: scene.url, inFrame: 0, outFrame: frames, ...(transition ? { transition } : {}) });
    for (const line of scene.lines) {
      const at = Math.min(frames - 1, Math.round(line.startSeconds * FILM_FPS));
      dialogue.push({ url: line.url, startFrame: start + Math.max(0, at) });
    }
    for (const line of scene.speech ?? []) {
      const at = Math.max(0, Math.min(frames - 1, Math.round(line.startSeconds * FILM_FPS)));
      speech.push({
        startFrame: start + at,
        frames: Math.max(1, Math.min(frames - at, Math.round(line.durationSeconds * FILM_FPS))),
      });
    }
    start += frames - (transition && transition.type !== "cut" ? transition.frames : 0);
  });
  return {
    fps: FILM_FPS,
    width: size.width,
    height: size.height,
    clips,
    dialogue,
    ...(speech.length > 0 ? { speech } : {}),
    ...(musicUrl ? { music: { url: musicUrl, startFrame: 0, gainDb: -6, duckDb: -12 } } : {}),
    ...(grade ? { grade } : {}),
  };
}

/** Expected length of the rendered film in seconds: clips minus transition overlaps. */
export function timelineSeconds(timeline: Timeline): number {
  const frames = timeline.clips.reduce(
    (sum, c, i) =>
      sum + (c.outFrame - c.inFrame) -
      (i < timeline.clips.length - 1 && c.transition && c.transition.type !== "cut"
        ? c.transition.frames
        : 0),
    0,
  );
  return frames / timeline.fps;
}
