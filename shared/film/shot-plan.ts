/**
 * How long each scene runs and how it is cut into shots, before anything is paid for. The
 * screenplay's scene times are a proposal (a language model asked for a length misses it by a
 * third or more); the planner scales them so the film, transitions included, lasts what was asked,
 * and cuts every scene into shots on the video model's duration grid. Rounding is carried from
 * scene to scene, so the total stays within one grid step of the target.
 */
import { RUNWAY_MODELS } from "../providers/runway/runway-models.ts";

/** Local clips are drawn by FFmpeg at any length; whole seconds in Runway's range keep plans alike. */
export const LOCAL_SHOT_SECONDS: readonly number[] = [2, 3, 4, 5, 6, 7, 8, 9, 10];

/**
 * The clip lengths (seconds, ascending) the film's video model takes from a first frame. A length
 * the owner registered for the provider is the only one; an unknown Runway model gets Runway's
 * common 5 and 10 s (its adapter refuses it before any call anyway).
 */
export function shotGrid(
  provider: string,
  model: string,
  registered: { durationSeconds?: number } = {},
): number[] {
  if (registered.durationSeconds !== undefined) return [registered.durationSeconds];
  if (provider === "runway") {
    const durations = RUNWAY_MODELS[model]?.endpoints.image_to_video?.durations ?? [5, 10];
    return [...durations].sort((a, b) => a - b);
  }
  return [...LOCAL_SHOT_SECONDS];
}

/** A scene as the planner needs it: its proposed time and the overlap of its transition out. */
export interface SceneTiming {
  sceneNumber: number;
  proposedSeconds: number;
  /** Seconds its transition into the next scene overlaps (a dissolve or fade); 0 for a cut. */
  overlapAfterSeconds: number;
}

export interface SceneCut {
  sceneNumber: number;
  /** The scene's length: the sum of its shots. */
  seconds: number;
  /** seconds / proposed: what the scene's dialogue timings are multiplied by. */
  scale: number;
  /** Each shot's length, in order; every one is on the grid. */
  shots: number[];
}

export interface FilmCut {
  scenes: SceneCut[];
  /** What the film plays: every shot, minus the transitions' overlaps. */
  filmSeconds: number;
}

/**
 * Scales the proposed times so the film lasts `targetSeconds` once the transitions overlap, and
 * cuts each scene into shots of `grid` lengths. What a scene's shots miss of its share is added
 * to the next scene's, so rounding never accumulates.
 */
export function planShots(
  scenes: readonly SceneTiming[],
  targetSeconds: number,
  grid: readonly number[],
): FilmCut {
  if (scenes.length === 0) throw new Error("planShots needs at least one scene");
  if (grid.length === 0 || grid.some((g) => !(g > 0))) {
    throw new Error("planShots needs a grid of positive lengths");
  }
  const steps = [...new Set(grid)].sort((a, b) => a - b);
  const overlaps = scenes.slice(0, -1).reduce((sum, s) => sum + s.overlapAfterSeconds, 0);
  const proposed = scenes.reduce((sum, s) => sum + Math.max(s.proposedSeconds, 0.001), 0);
  const factor = (targetSeconds + overlaps) / proposed;
  let carried = 0;
  const cut = scenes.map((scene) => {
    const proposedSeconds = Math.max(scene.proposedSeconds, 0.001);
    const wanted = proposedSeconds * factor + carried;
    const shots = splitScene(wanted, steps);
    const seconds = shots.reduce((sum, s) => sum + s, 0);
    carried = wanted - seconds;
    return { sceneNumber: scene.sceneNumber, seconds, scale: seconds / proposedSeconds, shots };
  });
  const shotSeconds = cut.reduce((sum, s) => sum + s.seconds, 0);
  return { scenes: cut, filmSeconds: shotSeconds - overlaps };
}

/**
 * The shots that hold `seconds` nearest: the fewest that can hold it (each at most the grid's
 * longest), each as near the even share as the grid allows, then moved a grid step at a time
 * while that brings the sum nearer; or one shot fewer when that lands nearer still, as it does on
 * a grid of one length, where no shot can shrink (8 s clips for 12 s: 8, not 16). Ties go to
 * fewer shots: fewer paid calls. What the scene misses is carried to the next (planShots).
 */
export function splitScene(seconds: number, grid: readonly number[]): number[] {
  const longest = grid[grid.length - 1];
  const fewest = Math.max(1, Math.ceil(seconds / longest - 1e-9));
  const miss = (shots: number[]) => Math.abs(seconds - shots.reduce((total, s) => total + s, 0));
  const held = nearestShots(seconds, fewest, grid);
  if (fewest === 1) return held;
  const fewer = nearestShots(seconds, fewest - 1, grid);
  return miss(fewer) <= miss(held) + 1e-9 ? fewer : held;
}

/** `count` shots of the grid whose sum is as near `seconds` as single grid steps bring it, longest first. */
function nearestShots(seconds: number, count: number, grid: readonly number[]): number[] {
  const nearest = (value: number) =>
    grid.reduce((best, g) => (Math.abs(g - value) < Math.abs(best - value) ? g : best), grid[0]);
  const shots = Array.from({ length: count }, () => nearest(seconds / count));
  const sum = () => shots.reduce((total, s) => total + s, 0);
  for (let guard = 0; guard < count * grid.length; guard++) {
    const miss = seconds - sum();
    let best: { index: number; value: number; miss: number } | null = null;
    for (let i = 0; i < shots.length; i++) {
      const at = grid.indexOf(shots[i]);
      for (const next of [grid[at - 1], grid[at + 1]]) {
        if (next === undefined) continue;
        const after = Math.abs(miss - (next - shots[i]));
        if (after < Math.abs(miss) - 1e-9 && (!best || after < best.miss)) {
          best = { index: i, value: next, miss: after };
        }
      }
    }
    if (!best) break;
    shots[best.index] = best.value;
  }
  // Longer shots first: a scene opens on its establishing shot.
  return shots.sort((a, b) => b - a);
}

/** Seconds a transition overlaps, by the timeline's own rule (film-timeline.ts transitionBetween). */
export function overlapSeconds(
  transition: { type: string; frames: number } | undefined,
  fps: number,
): number {
  return transition && transition.type !== "cut" ? transition.frames / fps : 0;
}

/**
 * Where a line spoken `atSeconds` into a scene falls: the shot it starts in (1-based) and how far
 * into that shot. Used to say which shots carry dialogue.
 */
export function shotOfLine(
  shots: readonly number[],
  atSeconds: number,
): { shotNumber: number; offset: number } {
  let start = 0;
  for (let i = 0; i < shots.length; i++) {
    if (atSeconds < start + shots[i] || i === shots.length - 1) {
      return { shotNumber: i + 1, offset: Math.max(0, atSeconds - start) };
    }
    start += shots[i];
  }
  return { shotNumber: 1, offset: 0 };
}

/** A run of consecutive shots lip-synced as one clip, and the lines (by index) that start in it. */
export interface LipsyncSegment {
  firstShot: number;
  lastShot: number;
  startSeconds: number;
  seconds: number;
  lines: number[];
}

/**
 * Where lip sync applies in a scene cut into shots: each shot on its own, except that a line
 * spoken across a cut keeps the shots on both sides together (a synced clip must hold the whole
 * line). A line of unknown length is taken to end with the shot it starts in. Segments without a
 * line need no lip sync.
 */
export function lipsyncSegments(
  shots: readonly number[],
  lines: readonly { startSeconds: number; durationSeconds: number | null }[],
): LipsyncSegment[] {
  const starts = shots.map((_, i) => shots.slice(0, i).reduce((sum, s) => sum + s, 0));
  const ends = lines.map((line) => {
    if (line.durationSeconds !== null) return line.startSeconds + line.durationSeconds;
    const shot = shotOfLine(shots, line.startSeconds).shotNumber - 1;
    return starts[shot] + shots[shot];
  });
  const segments: LipsyncSegment[] = [];
  let first = 0;
  for (let i = 0; i < shots.length; i++) {
    const cut = starts[i] + shots[i];
    const spoken = lines.some((line, k) => line.startSeconds < cut - 1e-6 && ends[k] > cut + 1e-6);
    if (i < shots.length - 1 && spoken) continue;
    const startSeconds = starts[first];
    segments.push({
      firstShot: first + 1,
      lastShot: i + 1,
      startSeconds,
      seconds: cut - startSeconds,
      lines: lines.flatMap((line, k) =>
        line.startSeconds >= startSeconds - 1e-6 && (line.startSeconds < cut - 1e-6 || i === shots.length - 1)
          ? [k]
          : []
      ),
    });
    first = i + 1;
  }
  return segments;
}
