/**
 * Where a scene's lines are spoken (film-timeline.ts placeLines): at their screenplay timing unless
 * they would run past the scene's end or into the next line. A probe's film lost the last 3.7 s of
 * its last line (5.7 s, timed at 13 s of a 15 s scene) at the film's end, and a line timed near a
 * scene's end ran over the next scene's first one.
 */
import { describe, expect, it } from "vitest";
import {
  type AssembledSceneRow,
  buildFilmTimeline,
  FILM_FPS,
  placeLines,
  timelineScene,
} from "../../shared/film/film-timeline.ts";

const line = (startSeconds: number, durationSeconds: number | null) => ({
  url: `https://x/line-${startSeconds}.mp3`,
  startSeconds,
  durationSeconds,
});

describe("a scene's lines", () => {
  it("keep their timing when they end within the scene", () => {
    const lines = [line(1, 2), line(4, 3.5), line(9, 5.9)];
    expect(placeLines(lines, 15)).toEqual(lines);
  });

  it("start early enough to end with the scene", () => {
    expect(placeLines([line(13, 5.7)], 15).map((l) => l.startSeconds)).toEqual([9.3]);
  });

  it("end before the next line starts, moved as little as they can", () => {
    // The second line is moved back to end with the scene; the first then ends where it starts.
    const placed = placeLines([line(10, 3.18), line(12.5, 3.18)], 15);
    expect(placed.map((l) => Number(l.startSeconds.toFixed(2)))).toEqual([8.64, 11.82]);
    for (const [i, l] of placed.entries()) {
      expect(l.startSeconds + l.durationSeconds!).toBeLessThanOrEqual(
        (placed[i + 1]?.startSeconds ?? 15) + 1e-9,
      );
    }
  });

  it("never start before the scene, even when they cannot all fit", () => {
    const placed = placeLines([line(0, 4), line(1, 4)], 6);
    expect(placed.map((l) => l.startSeconds)).toEqual([0, 2]);
  });

  it("of unknown length stay where they are timed, within the scene", () => {
    expect(placeLines([line(3, null), line(20, null)], 15).map((l) => l.startSeconds)).toEqual([3, 15]);
  });

  it("are placed so on the film's timeline, where the last line ends with the film", () => {
    const row: AssembledSceneRow = {
      scene_number: 1,
      clip_url: "https://x/clip-1.mp4",
      video_url: "https://x/clip-1.mp4",
      lipsync_url: null,
      duration_seconds: "15.00",
      is_continuation: false,
      location_slug: "harbour",
      time_of_day: "dusk",
    };
    const timeline = buildFilmTimeline(
      [timelineScene(row, [line(13, 5.7)])],
      { width: 640, height: 360 },
      null,
    );
    const filmFrames = timeline.clips[0].outFrame;
    const [spoken] = timeline.dialogue;
    expect(spoken.startFrame + 5.7 * FILM_FPS).toBeLessThanOrEqual(filmFrames + 0.5);
    expect(spoken.startFrame).toBe(Math.round(9.3 * FILM_FPS));
  });
});
