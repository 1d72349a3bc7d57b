/**
 * The film's timeline from its assembled scenes: clips end to end on a 24 fps grid, transitions
 * from the screenplay's continuity (a continuation cuts, a new place dissolves, a new time of day
 * fades through black), each dialogue line at its scene's start + its timing, music under it all.
 */
import type { Timeline, TimelineAudio, TimelineClip } from "../providers/types.ts";

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
}

export function transitionBetween(from: TimelineScene, to: TimelineScene): TimelineClip["transition"] {
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
): Timeline {
  const clips: TimelineClip[] = [];
  const dialogue: TimelineAudio[] = [];
  let start = 0;
  scenes.forEach((scene, i) => {
    const frames = Math.max(1, Math.round(scene.durationSeconds * FILM_FPS));
    const next = scenes[i + 1];
    let transition = next ? transitionBetween(scene, next) : undefined;
    // Both of a clip's transitions eat into it; never more than a third of it each.
    if (transition && transition.type !== "cut") transition = { ...transition, frames: Math.min(transition.frames, Math.floor(frames / 3)) };
    if (transition && transition.type !== "cut" && transition.frames < 1) transition = { type: "cut", frames: 0 };
    clips.push({ url: scene.url, inFrame: 0, outFrame: frames, ...(transition ? { transition } : {}) });
    for (const line of scene.lines) {
      const at = Math.min(frames - 1, Math.round(line.startSeconds * FILM_FPS));
      dialogue.push({ url: line.url, startFrame: start + Math.max(0, at) });
    }
    start += frames - (transition && transition.type !== "cut" ? transition.frames : 0);
  });
  return {
    fps: FILM_FPS,
    width: size.width,
    height: size.height,
    clips,
    dialogue,
    ...(musicUrl ? { music: { url: musicUrl, startFrame: 0, gainDb: -6, duckDb: -12 } } : {}),
  };
}

/** Expected length of the rendered film in seconds: clips minus transition overlaps. */
export function timelineSeconds(timeline: Timeline): number {
  const frames = timeline.clips.reduce((sum, c, i) =>
    sum + (c.outFrame - c.inFrame) - (i < timeline.clips.length - 1 && c.transition && c.transition.type !== "cut" ? c.transition.frames : 0), 0);
  return frames / timeline.fps;
}
