/** produce-movie quote's arithmetic (shared/film/film-quote.ts): counts from the planner's rules, sums per provider and unit. */
import { describe, expect, it } from "vitest";
import {
  assertMakeableLength,
  ASSUMED,
  expectedWallSeconds,
  quoteFilm,
  type QuoteProviders,
  quoteShots,
  TYPICAL_SECONDS,
} from "../../shared/film/film-quote.ts";
import { sceneCountFor } from "../../shared/film/scene-plan.ts";

const brief = {
  title: "Harbour Lights",
  prompt: "A keeper hears a signal",
  genre: "mystery",
  durationMinutes: 3,
};
const user = (provider: string, model: string) => ({ provider, model, source: "user" as const });
const fallback = { provider: "local", model: "local", source: "fallback" as const };
const paid: QuoteProviders = {
  llm: user("openai", "gpt-4.1-mini"),
  video: user("runway", "gen4.5"),
  image: user("fal", "fal-ai/flux/schnell"),
  audio: user("elevenlabs", "eleven_flash_v2_5"),
  lipsync: user("sync", "lipsync-2"),
  music: user("beatoven", "maestro"),
  render: user("worker", "ffmpeg"),
};

describe("the shortest film", () => {
  it("is one clip of the model's shortest, within 10 %: shorter is refused, naming the least length", () => {
    const local = { provider: "local", model: "local" };
    // Before, 0.01 minutes was taken and made into a 2 s film (+233 %).
    expect(() => assertMakeableLength(0.01, local)).toThrow(
      /shortest clip of local local \(2 s\); ask for at least 0.04/,
    );
    expect(() => assertMakeableLength(0.03, local)).toThrow(/ask for at least 0.04/);
    expect(() => assertMakeableLength(0.04, local)).not.toThrow();
    // Veo 3.1's shortest clip is 4 s.
    expect(() => assertMakeableLength(0.06, { provider: "runway", model: "veo3.1" })).toThrow(
      /at least 0.07/,
    );
    expect(() => assertMakeableLength(0.07, { provider: "runway", model: "veo3.1" })).not.toThrow();
  });

  it("is quoted as the scenes the film keeps: one, not two, when one clip fills it", () => {
    expect(quoteShots(0.04, { provider: "local", model: "local" }).scenes).toBe(1);
    expect(quoteShots(0.5, { provider: "local", model: "local" }).scenes).toBe(sceneCountFor(0.5));
  });
});

describe("quoteFilm", () => {
  it("counts one clip per planned shot and sums each provider's units", () => {
    const quote = quoteFilm(brief, paid);
    const scenes = sceneCountFor(3);
    const { shots, seconds, joins } = quoteShots(3, paid.video);
    expect(quote.sceneCount).toBe(4);
    // gen4.5 takes up to 10 s: 180 s and three 1 s fades, four scenes of about 46 s, five shots each.
    expect(shots).toBe(20);
    expect(seconds).toBe(183);
    expect(joins).toBe(scenes);
    expect(quote.callsByKind).toMatchObject({
      llm: 3,
      video: shots,
      end_frame: shots,
      join_shots: scenes,
      // Lip sync where lines fall: a part per line at most (2 lines a scene), never more than the shots.
      lipsync: Math.min(shots, scenes * ASSUMED.linesPerScene),
      dialogue_track: Math.min(shots, scenes * ASSUMED.linesPerScene),
      music: 1,
      assemble: 1,
      cover: 1,
      portrait: ASSUMED.characters,
      location_image: scenes,
      voice: scenes * ASSUMED.linesPerScene,
    });
    expect(quote.callsByKind.mix).toBeUndefined();
    expect(quote.perProvider.find((p) => p.provider === "runway")).toEqual({
      provider: "runway",
      model: "gen4.5",
      type: "video",
      paid: true,
      calls: shots,
      units: seconds,
      unit: "seconds",
    });
    // Portraits, location images and the cover: one fal line.
    expect(quote.perProvider.find((p) => p.provider === "fal")).toMatchObject({
      calls: ASSUMED.characters + scenes + 1,
      units: ASSUMED.characters + scenes + 1,
      unit: "images",
    });
    // The music is the film's length (filmScoreRequest), exact.
    expect(quote.perProvider.find((p) => p.provider === "beatoven")).toMatchObject({ calls: 1, units: 180 });
    // The render worker is ours: listed, not paid, not in the totals.
    expect(quote.perProvider.find((p) => p.provider === "worker")).toMatchObject({ paid: false });
    expect(quote.total.units).toEqual({
      tokens: 3 * ASSUMED.tokensPerLlmCall,
      images: ASSUMED.characters + scenes + 1,
      seconds: 2 * seconds + 180,
      characters: scenes * ASSUMED.linesPerScene * ASSUMED.charactersPerLine,
    });
    // The cap counts jobs: images and seconds, not tokens or characters.
    expect(quote.total.capUnits).toBe(ASSUMED.characters + scenes + 1 + 2 * seconds + 180);
    expect(quote.estimates.some((e) => e.startsWith("video:"))).toBe(true);
    expect(quote.estimates.some((e) => e.startsWith("music:"))).toBe(false);
  });

  it("without lipsync or music mixes each scene and composes nothing", () => {
    const quote = quoteFilm({ ...brief, durationMinutes: 0.5 }, {
      ...paid,
      lipsync: fallback,
      music: fallback,
    });
    expect(quote.sceneCount).toBe(2);
    // 30 s and a fade: two scenes of 15 and 16 s, two shots each.
    expect(quote.callsByKind).toMatchObject({ mix: 2, video: 4, join_shots: 2 });
    expect(quote.callsByKind.lipsync).toBeUndefined();
    expect(quote.callsByKind.music).toBeUndefined();
    expect(quote.perProvider.some((p) => p.provider === "beatoven" || p.provider === "sync")).toBe(false);
  });

  it("prices nothing on local providers", () => {
    const local = Object.fromEntries(Object.keys(paid).map((t) => [t, fallback])) as QuoteProviders;
    const quote = quoteFilm(brief, local);
    expect(quote.total).toEqual({ units: {}, capUnits: 0 });
    expect(quote.perProvider.every((p) => !p.paid)).toBe(true);
  });

  it("wall time: preproduction, then the one chain shot by shot, then the ending", () => {
    const t = TYPICAL_SECONDS;
    expect(expectedWallSeconds(4, 0, false) - expectedWallSeconds(3, 0, false)).toBe(t.video + t.render);
    expect(expectedWallSeconds(3, 1, false) - expectedWallSeconds(3, 0, false)).toBe(t.render);
    expect(expectedWallSeconds(3, 0, true) - expectedWallSeconds(3, 0, false)).toBe(t.lipsync);
  });
});
