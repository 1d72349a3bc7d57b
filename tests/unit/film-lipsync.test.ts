import { describe, expect, it } from "vitest";
import {
  type AssembledSceneRow,
  buildFilmTimeline,
  isLipSynced,
  timelineScene,
} from "../../shared/film/film-timeline.ts";

const row = (n: number, extra: Partial<AssembledSceneRow> = {}): AssembledSceneRow => ({
  scene_number: n,
  clip_url: `https://x/clip-${n}.mp4`,
  video_url: `https://x/mixed-${n}.mp4`,
  lipsync_url: null,
  duration_seconds: "5.00",
  is_continuation: false,
  location_slug: "harbour",
  time_of_day: "dusk",
  ...extra,
});
const lines = (n: number) => [{ url: `https://x/line-${n}.mp3`, startSeconds: 1, durationSeconds: 1.5 }];

describe("lip-synced scenes on the film timeline", () => {
  it("counts a scene as lip-synced only while its video is the synced file", () => {
    expect(isLipSynced(row(1, { video_url: "https://x/sync-1.mp4", lipsync_url: "https://x/sync-1.mp4" })))
      .toBe(true);
    // A regenerated clip or a later plain mix moved video_url away from the synced file.
    expect(isLipSynced(row(1, { lipsync_url: "https://x/sync-1.mp4" }))).toBe(false);
    expect(isLipSynced(row(1))).toBe(false);
  });

  it("uses a lip-synced scene's synced clip without placing its lines again, and other scenes' raw clips with their lines", () => {
    const synced = row(1, { video_url: "https://x/sync-1.mp4", lipsync_url: "https://x/sync-1.mp4" });
    const timeline = buildFilmTimeline(
      [timelineScene(synced, lines(1)), timelineScene(row(2, { is_continuation: true }), lines(2))],
      { width: 640, height: 360 },
      null,
    );
    expect(timeline.clips.map((c) => c.url)).toEqual(["https://x/sync-1.mp4", "https://x/clip-2.mp4"]);
    // Scene 2 starts at frame 120 (a cut); its line one second in. Scene 1's line is in its clip's sound.
    expect(timeline.dialogue).toEqual([{ url: "https://x/line-2.mp3", startFrame: 144 }]);
  });

  it("still ducks the music under a synced scene's lines, which are in its clip's sound", () => {
    const synced = row(2, {
      video_url: "https://x/sync-2.mp4",
      lipsync_url: "https://x/sync-2.mp4",
      is_continuation: true,
    });
    const timeline = buildFilmTimeline([timelineScene(row(1), []), timelineScene(synced, lines(2))], {
      width: 640,
      height: 360,
    }, "https://x/m.mp3");
    expect(timeline.dialogue).toEqual([]);
    expect(timeline.speech).toEqual([{ startFrame: 120 + 24, frames: 36 }]);
    // A line of unknown length is taken to run to its clip's end.
    const unknown = buildFilmTimeline([timelineScene(synced, [{ ...lines(2)[0], durationSeconds: null }])], {
      width: 640,
      height: 360,
    }, null);
    expect(unknown.speech).toEqual([{ startFrame: 24, frames: 96 }]);
  });

  it("keeps the raw clip and its lines for a scene whose lip sync was superseded", () => {
    const stale = row(1, { lipsync_url: "https://x/sync-1.mp4" });
    const scene = timelineScene(stale, lines(1));
    expect(scene).toMatchObject({
      url: "https://x/clip-1.mp4",
      lines: [{ url: "https://x/line-1.mp3", startSeconds: 1 }],
      durationSeconds: 5,
    });
    expect(scene.speech).toBeUndefined();
  });
});
