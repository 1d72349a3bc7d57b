import { describe, expect, it } from "vitest";
import {
  finalMovieStatus,
  isValidMediaUrl,
  selectClipsForAssembly,
} from "../../shared/film/assembly-rules.ts";
import { buildFilmTimeline, timelineSeconds } from "../../shared/film/film-timeline.ts";
import { chooseReferenceSource } from "../../shared/film/reference-image.ts";
import { continuityChains, planScenes, sceneCountFor } from "../../shared/film/scene-plan.ts";
import { buildShortVideoPrompt, videoShape } from "../../shared/film/video-prompt.ts";
import { writeProductionPlan, writeScreenplay } from "../../shared/providers/local/local-film-writer.ts";

const brief = {
  title: "Harbour Lights",
  prompt: "A keeper hears a signal from the sea",
  genre: "mystery",
  duration_minutes: 3,
};

describe("scene count and continuity", () => {
  it("asks for scenes of about 30 s × √minutes (at most 2 minutes), never fewer than two", () => {
    expect(sceneCountFor(0.25)).toBe(2);
    expect(sceneCountFor(1)).toBe(2);
    expect(sceneCountFor(3)).toBe(4);
    expect(sceneCountFor(12)).toBe(7);
    expect(sceneCountFor(24)).toBe(12);
    expect(sceneCountFor(30)).toBe(15);
  });

  it("keeps the plan's continuations and treats an unplanned scene as continuing the previous one", () => {
    const plan = writeProductionPlan(brief);
    const screenplay = writeScreenplay(brief);
    const scenes = planScenes(screenplay, {
      ...plan,
      continuity: plan.continuity.filter((c) => c.scene_number !== 3),
    }, 6);
    expect(scenes[0]).toMatchObject({ isContinuation: false, continuesFrom: null });
    expect(scenes[2]).toMatchObject({ sceneNumber: 3, isContinuation: true, continuesFrom: 2 });
    const planned = plan.continuity.find((c) => c.scene_number === 2)!;
    expect(scenes[1].isContinuation).toBe(planned.is_continuation);
  });

  it("drops a continuation that points at a later or missing scene", () => {
    const plan = writeProductionPlan(brief);
    const screenplay = writeScreenplay(brief);
    const continuity = plan.continuity.map((c) =>
      c.scene_number === 2 ? { ...c, is_continuation: true, continues_from: 5 } : c
    );
    expect(planScenes(screenplay, { ...plan, continuity }, 6)[1]).toMatchObject({
      isContinuation: false,
      continuesFrom: null,
    });
  });

  it("cuts the screenplay down to the scene count", () => {
    expect(planScenes(writeScreenplay(brief), writeProductionPlan(brief), 2)).toHaveLength(2);
  });

  it("groups scenes into independent chains, each in scene order, branches staying with their trunk", () => {
    const chains = continuityChains([
      { sceneNumber: 1, continuesFrom: null },
      { sceneNumber: 2, continuesFrom: 1 },
      { sceneNumber: 3, continuesFrom: null },
      { sceneNumber: 4, continuesFrom: 2 },
      { sceneNumber: 5, continuesFrom: 3 },
      { sceneNumber: 6, continuesFrom: 2 },
      { sceneNumber: 7, continuesFrom: null },
    ]);
    expect(chains).toEqual([[1, 2, 4, 6], [3, 5], [7]]);
  });
});

describe("reference image cases", () => {
  it("uses the previous end frame only for a continuation whose predecessor has a real frame", () => {
    expect(
      chooseReferenceSource({
        isContinuation: true,
        previousEndFrameUrl: "https://x/f.png",
        libraryImageUrl: "https://x/l.png",
      }),
    ).toBe("previous_frame");
    expect(
      chooseReferenceSource({
        isContinuation: true,
        previousEndFrameUrl: "null",
        libraryImageUrl: "https://x/l.png",
      }),
    ).toBe("library");
    expect(
      chooseReferenceSource({
        isContinuation: false,
        previousEndFrameUrl: "https://x/f.png",
        libraryImageUrl: "https://x/l.png",
      }),
    ).toBe("library");
    expect(chooseReferenceSource({ isContinuation: false, previousEndFrameUrl: null, libraryImageUrl: null }))
      .toBe("generated");
    expect(chooseReferenceSource({ isContinuation: true, previousEndFrameUrl: null, libraryImageUrl: " " }))
      .toBe("generated");
  });
});

describe("video prompt", () => {
  const scene = writeScreenplay(brief).scenes[0];
  const bible = { visual_style: "painterly", lighting: "low golden light" };

  it("never carries a dialogue line, even one leaked into the visual prompt", () => {
    const leaky = {
      ...scene,
      visual_prompt: `${scene.visual_prompt} ${scene.dialogue[0]?.line ?? "We are close."} "Say it"`,
    };
    const prompt = buildShortVideoPrompt(leaky, bible, { name: "Harbour", weather: "fog" });
    for (const d of scene.dialogue) expect(prompt).not.toContain(d.line);
    expect(prompt).not.toContain("Say it");
    expect(prompt).toContain("Harbour");
  });

  it("is at most 1000 characters however long the scene is", () => {
    const long = {
      ...scene,
      action_description: Array.from({ length: 80 }, (_, i) => `beat number ${i} where things happen slowly`),
    };
    const prompt = buildShortVideoPrompt(long, bible, { name: "Harbour", weather: "fog" });
    expect(prompt.length).toBeLessThanOrEqual(1000);
    expect(prompt.length).toBeGreaterThan(900);
  });

  it("picks a ratio and duration the Runway model accepts", () => {
    expect(videoShape("runway", "gen4_turbo", "portrait", 6)).toEqual({
      ratio: "720:1280",
      durationSeconds: 6,
    });
    expect(videoShape("runway", "gen4_turbo", "portrait", 14).durationSeconds).toBe(10);
    expect(videoShape("runway", "veo3.1", "landscape", 5).durationSeconds).toBe(4); // nearest; ties go short
    expect(videoShape("runway", "veo3", "landscape", 5)).toEqual({ ratio: "1280:720", durationSeconds: 8 });
    expect(videoShape("local", "local", "landscape", 6)).toEqual({ ratio: "640:360", durationSeconds: 6 });
  });
});

describe("assembly and finalize rules", () => {
  it("treats null, blank, 'null' and 'undefined' as no URL", () => {
    for (const bad of [null, undefined, "", "  ", "null", "undefined"]) {
      expect(isValidMediaUrl(bad)).toBe(false);
    }
    expect(isValidMediaUrl("https://x/a.mp4")).toBe(true);
  });

  it("keeps only completed clips with a real URL, sorted by scene number", () => {
    const kept = selectClipsForAssembly([
      { scene_number: 3, status: "completed", video_url: "https://x/3.mp4" },
      { scene_number: 1, status: "completed", video_url: "https://x/1.mp4" },
      { scene_number: 2, status: "failed", video_url: null },
      { scene_number: 4, status: "completed", video_url: "null" },
      { scene_number: 5, status: "generating", video_url: "https://x/5.mp4" },
    ]);
    expect(kept.map((v) => v.scene_number)).toEqual([1, 3]);
  });

  it("fails naming what was failed or invalid when nothing is left", () => {
    expect(() =>
      selectClipsForAssembly([
        { scene_number: 1, status: "failed", video_url: null },
        { scene_number: 2, status: "failed", video_url: null },
        { scene_number: 3, status: "completed", video_url: "" },
      ])
    ).toThrow("No videos to assemble: Failed=2, Invalid=1");
  });

  it("fails a film only when every scene failed or nothing was assembled", () => {
    expect(finalMovieStatus(4, [], true)).toEqual({ status: "completed", warning: null });
    expect(finalMovieStatus(4, [3, 1], true)).toEqual({
      status: "completed",
      warning: "2 of 4 scenes failed (1, 3) and are left out",
    });
    expect(finalMovieStatus(4, [1, 2, 3, 4], false).status).toBe("failed");
    expect(finalMovieStatus(4, [1], false).status).toBe("failed");
  });
});

describe("film timeline", () => {
  const scene = (n: number, extra: object = {}) => ({
    sceneNumber: n,
    url: `https://x/${n}.mp4`,
    durationSeconds: 5,
    isContinuation: false,
    locationSlug: "harbour",
    timeOfDay: "day",
    lines: [],
    ...extra,
  });

  it("cuts into a continuation, dissolves to a new place, fades to a new time of day", () => {
    const timeline = buildFilmTimeline(
      [
        scene(1),
        scene(2, { isContinuation: true }),
        scene(3, { locationSlug: "market" }),
        scene(4, { locationSlug: "market", timeOfDay: "night" }),
      ],
      { width: 640, height: 360 },
      null,
    );
    expect(timeline.clips.map((c) => c.transition?.type)).toEqual(["cut", "dissolve", "fade", undefined]);
    expect(timelineSeconds(timeline)).toBeCloseTo(20 - 0.5 - 1, 5);
  });

  it("places each line at its scene's start on the timeline plus its timing, and ducks music under it", () => {
    const timeline = buildFilmTimeline(
      [
        scene(1, { lines: [{ url: "https://x/a.mp3", startSeconds: 1 }] }),
        scene(2, { locationSlug: "market", lines: [{ url: "https://x/b.mp3", startSeconds: 0.5 }] }),
      ],
      { width: 640, height: 360 },
      "https://x/m.mp3",
    );
    // Scene 2 starts 12 frames early: the dissolve overlaps the end of scene 1.
    expect(timeline.dialogue).toEqual([{ url: "https://x/a.mp3", startFrame: 24 }, {
      url: "https://x/b.mp3",
      startFrame: 120 - 12 + 12,
    }]);
    expect(timeline.music).toMatchObject({ url: "https://x/m.mp3", startFrame: 0, duckDb: -12 });
  });
});
