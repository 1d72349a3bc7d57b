/** The planner's arithmetic (shared/film/shot-plan.ts): scenes scaled to the film, cut into shots on the grid. */
import { describe, expect, it } from "vitest";
import {
  lipsyncSegments,
  LOCAL_SHOT_SECONDS,
  planShots,
  shotGrid,
  shotOfLine,
  splitScene,
} from "../../shared/film/shot-plan.ts";
import { RUNWAY_MODELS } from "../../shared/providers/runway/runway-models.ts";

const scenes = (proposals: number[], overlap = 0) =>
  proposals.map((proposedSeconds, i) => ({
    sceneNumber: i + 1,
    proposedSeconds,
    overlapAfterSeconds: overlap,
  }));
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe("shotGrid", () => {
  it("is the model's image-to-video lengths, or the one the owner registered", () => {
    expect(shotGrid("runway", "gen4_turbo")).toEqual([
      ...RUNWAY_MODELS.gen4_turbo.endpoints.image_to_video!.durations,
    ]);
    expect(shotGrid("runway", "veo3.1")).toEqual([4, 6, 8]);
    expect(shotGrid("runway", "gen4_turbo", { durationSeconds: 5 })).toEqual([5]);
    expect(shotGrid("local", "local")).toEqual([...LOCAL_SHOT_SECONDS]);
  });
});

describe("splitScene", () => {
  it("uses the fewest shots that hold the scene, none longer than the grid allows, summing as near as it can", () => {
    expect(splitScene(30, LOCAL_SHOT_SECONDS)).toEqual([10, 10, 10]);
    expect(sum(splitScene(23, LOCAL_SHOT_SECONDS))).toBe(23);
    expect(splitScene(23, LOCAL_SHOT_SECONDS)).toHaveLength(3);
    expect(sum(splitScene(23, [5, 10]))).toBe(25);
    expect(sum(splitScene(10, [4, 6, 8]))).toBe(10);
    expect(splitScene(1, LOCAL_SHOT_SECONDS)).toEqual([2]);
    for (const seconds of [2, 7.4, 19, 61, 95.5, 600]) {
      for (const grid of [LOCAL_SHOT_SECONDS, [4, 6, 8], [5, 10], [5]]) {
        const shots = splitScene(seconds, grid);
        expect(shots.every((s) => grid.includes(s))).toBe(true);
        // The fewest that hold the scene, or one fewer where that lands nearer.
        const fewest = Math.max(1, Math.ceil(seconds / grid[grid.length - 1]));
        expect([fewest, fewest - 1]).toContain(shots.length);
      }
    }
  });

  it("takes one shot fewer when that lands nearer: a grid of one length cannot shrink a shot", () => {
    // Veo 3's 8 s clips: 12 s is 8 (a tie with 16 goes to fewer paid clips), 22 s is 24, 28 s is 24.
    expect(splitScene(12, [8])).toEqual([8]);
    expect(splitScene(22, [8])).toEqual([8, 8, 8]);
    expect(splitScene(28, [8])).toEqual([8, 8, 8]);
    // A registered 10 s: 30.5 s is three clips, not four (before: 40 s, and a 1-minute film 69 s).
    expect(splitScene(30.5, [10])).toEqual([10, 10, 10]);
    // Where the grid can shrink shots, the fewest that hold the scene still win.
    expect(splitScene(23, LOCAL_SHOT_SECONDS)).toHaveLength(3);
  });
});

describe("planShots", () => {
  it("scales the writer's proposals so the film lasts the target, transitions included", () => {
    const cut = planShots(scenes([5, 6, 8, 5], 1), 180, LOCAL_SHOT_SECONDS);
    expect(cut.filmSeconds).toBe(180);
    expect(sum(cut.scenes.map((s) => s.seconds))).toBe(183);
    // The proposals' proportions survive the scaling, to a grid step.
    expect(cut.scenes[2].seconds).toBeGreaterThan(cut.scenes[0].seconds);
    for (const scene of cut.scenes) {
      expect(sum(scene.shots)).toBe(scene.seconds);
      expect(Math.max(...scene.shots)).toBeLessThanOrEqual(10);
    }
  });

  it("carries rounding from scene to scene: within a grid step of the target at any length", () => {
    for (const minutes of [0.25, 1, 3, 10, 12, 30]) {
      for (const grid of [LOCAL_SHOT_SECONDS, [4, 6, 8], [5, 10]]) {
        const proposals = Array.from(
          { length: Math.max(2, Math.round(minutes * 2)) },
          (_, i) => 3 + ((i * 7) % 11),
        );
        const cut = planShots(scenes(proposals, 0.5), minutes * 60, grid);
        expect(Math.abs(cut.filmSeconds - minutes * 60)).toBeLessThanOrEqual(grid[grid.length - 1] / 2);
        expect(Math.abs(cut.filmSeconds - minutes * 60) / (minutes * 60)).toBeLessThanOrEqual(0.1);
      }
    }
  });

  it("gives each scene a scale its dialogue timings follow", () => {
    const cut = planShots(scenes([4, 6]), 60, LOCAL_SHOT_SECONDS);
    expect(cut.scenes[0].scale * 4).toBeCloseTo(cut.scenes[0].seconds);
    expect(cut.scenes[1].scale).toBeCloseTo(cut.scenes[1].seconds / 6);
  });

  it("refuses no scenes or an empty grid", () => {
    expect(() => planShots([], 60, LOCAL_SHOT_SECONDS)).toThrow(/at least one scene/);
    expect(() => planShots(scenes([5]), 60, [])).toThrow(/grid/);
  });
});

describe("shotOfLine", () => {
  it("finds the shot a line starts in and its offset there", () => {
    expect(shotOfLine([10, 10, 5], 0)).toEqual({ shotNumber: 1, offset: 0 });
    expect(shotOfLine([10, 10, 5], 12.5)).toEqual({ shotNumber: 2, offset: 2.5 });
    expect(shotOfLine([10, 10, 5], 24)).toEqual({ shotNumber: 3, offset: 4 });
    expect(shotOfLine([10, 10, 5], 40)).toEqual({ shotNumber: 3, offset: 20 });
  });
});

describe("lipsyncSegments", () => {
  it("keeps each shot alone unless a line is spoken across its cut", () => {
    const lines = [
      { startSeconds: 1, durationSeconds: 2 },
      { startSeconds: 9, durationSeconds: 3 },
      { startSeconds: 21, durationSeconds: 1 },
    ];
    expect(lipsyncSegments([10, 10, 5], lines)).toEqual([
      { firstShot: 1, lastShot: 2, startSeconds: 0, seconds: 20, lines: [0, 1] },
      { firstShot: 3, lastShot: 3, startSeconds: 20, seconds: 5, lines: [2] },
    ]);
    expect(lipsyncSegments([6, 6], [{ startSeconds: 0.5, durationSeconds: 2 }])).toEqual([
      { firstShot: 1, lastShot: 1, startSeconds: 0, seconds: 6, lines: [0] },
      { firstShot: 2, lastShot: 2, startSeconds: 6, seconds: 6, lines: [] },
    ]);
  });

  it("ends a line of unknown length with its shot, and keeps a line that runs past the scene in the last", () => {
    expect(lipsyncSegments([5, 5], [{ startSeconds: 4, durationSeconds: null }]).map((s) => s.lines)).toEqual(
      [
        [0],
        [],
      ],
    );
    expect(lipsyncSegments([5, 5], [{ startSeconds: 8, durationSeconds: 4 }]).map((s) => s.lines)).toEqual([
      [],
      [0],
    ]);
  });
});
