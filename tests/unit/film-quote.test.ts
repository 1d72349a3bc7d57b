/** produce-movie quote's arithmetic (shared/film/film-quote.ts): counts from the planner's rules, sums per provider and unit. */
import { describe, expect, it } from "vitest";
import { planShots } from "../../shared/film/shot-plan.ts";
import {
  assertMakeableLength,
  ASSUMED,
  expectedWallSeconds,
  filmGrid,
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
  search: fallback,
};

describe("a length no film can be made within 10 % of", () => {
  it("is refused below the model's shortest clip, naming the least length that can be made", () => {
    const local = { provider: "local", model: "local" };
    // Before, 0.01 minutes was taken and made into a 2 s film (+233 %).
    expect(() => assertMakeableLength(0.01, local)).toThrow(
      /shortest clip of local local \(2–10 s\); ask for at least 0.05/,
    );
    expect(() => assertMakeableLength(0.03, local)).toThrow(/ask for at least 0.05/);
    expect(() => assertMakeableLength(0.05, local)).not.toThrow();
    // Veo 3.1's shortest clip is 4 s.
    expect(() => assertMakeableLength(0.06, { provider: "runway", model: "veo3.1" })).toThrow(
      /at least 0.07/,
    );
    expect(() => assertMakeableLength(0.07, { provider: "runway", model: "veo3.1" })).not.toThrow();
  });

  it("is refused where the clips cannot sum near it, naming the nearest lengths they make", () => {
    // 2.4 s on whole seconds: 2 s (-17 %) or 3 s (+25 %). Before: accepted, made 2 s long.
    expect(() => assertMakeableLength(0.04, { provider: "runway", model: "gen4.5" })).toThrow(
      /0.04 minutes \(2.4 s\) cannot be made within 10 % .*the nearest length they make is 0.05 minutes/,
    );
    // Veo 3 makes 8 s clips only: 12 s is 8 or 16. Before: accepted, made 16 s long (+33 %).
    const veo3 = { provider: "runway", model: "veo3" };
    expect(() => assertMakeableLength(0.2, veo3)).toThrow(
      /0.2 minutes \(12 s\) cannot be made within 10 % from the clips of runway veo3 \(8 s\); the nearest lengths they make are 0.14 or 0.25 minutes/,
    );
    expect(() => assertMakeableLength(0.13, veo3)).not.toThrow();
    expect(() => assertMakeableLength(0.4, veo3)).not.toThrow();
  });

  it("counts a duration registered on a Runway row as the only clip length", () => {
    const tenSeconds = { provider: "runway", model: "gen4.5", settings: { duration: 10 } };
    // Before: 0.1 minutes quoted as clips of 3 and 4 s, and made 10 s long (+67 %).
    expect(() => assertMakeableLength(0.1, tenSeconds)).toThrow(
      /shortest clip of runway gen4.5 \(10 s, as registered\); ask for at least 0.16/,
    );
    expect(() => assertMakeableLength(1, tenSeconds)).not.toThrow();
    expect(quoteShots(1, tenSeconds)).toMatchObject({ shots: 6 });
    expect(quoteShots(1, { provider: "runway", model: "gen4.5" }).shots).toBeLessThan(10);
    // Another provider's `duration` setting is not a Runway clip length.
    expect(() =>
      assertMakeableLength(0.05, { provider: "local", model: "local", settings: { duration: 10 } })
    )
      .not.toThrow();
  });

  it("is never accepted and then cut more than 10 % off, at any length from 0.01 to 3 minutes", () => {
    const videos = [
      { provider: "local", model: "local" },
      { provider: "runway", model: "gen4.5" },
      { provider: "runway", model: "veo3" },
      { provider: "runway", model: "veo3.1" },
      { provider: "runway", model: "gen4.5", settings: { duration: 5 } },
      { provider: "runway", model: "gen4.5", settings: { duration: 10 } },
    ];
    // The screenplay's scene times, however the writer spreads them, and cuts or fades between.
    const spreads = [(_: number) => 1, (i: number) => 1 + i, (i: number) => (i % 2 ? 3 : 1)];
    for (const video of videos) {
      const grid = filmGrid(video);
      for (let k = 1; k <= 300; k++) {
        const minutes = k / 100;
        let accepted = true;
        try {
          assertMakeableLength(minutes, video);
        } catch {
          accepted = false;
        }
        if (!accepted) continue;
        const { scenes } = quoteShots(minutes, video);
        for (const spread of spreads) {
          for (const overlap of [0, 1]) {
            const cut = planShots(
              Array.from({ length: scenes }, (_, i) => ({
                sceneNumber: i + 1,
                proposedSeconds: spread(i),
                overlapAfterSeconds: overlap,
              })),
              minutes * 60,
              grid,
            );
            expect(
              Math.abs(cut.filmSeconds - minutes * 60),
              `${JSON.stringify(video)} ${minutes} min, spread ${
                spreads.indexOf(spread)
              }, overlap ${overlap}`,
            ).toBeLessThanOrEqual(minutes * 6 + 1e-9);
          }
        }
      }
    }
  });
});

describe("the shortest film", () => {
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
      // Each scene cut into shots is synced part by part and its parts joined back (a probe's film
      // of two 2-shot scenes made 4 joins where the quote said 2).
      join_synced: scenes,
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
    // The music is the clips' seconds the film is cut into, as the pipeline asks (filmScoreRequest).
    expect(quote.perProvider.find((p) => p.provider === "beatoven")).toMatchObject({
      calls: 1,
      units: seconds,
    });
    // The render worker is ours: listed, not paid, not in the totals.
    expect(quote.perProvider.find((p) => p.provider === "worker")).toMatchObject({ paid: false });
    expect(quote.total.units).toEqual({
      tokens: 3 * ASSUMED.tokensPerLlmCall,
      images: ASSUMED.characters + scenes + 1,
      seconds: 3 * seconds,
      characters: scenes * ASSUMED.linesPerScene * ASSUMED.charactersPerLine,
    });
    // The cap counts jobs: images and seconds, not tokens or characters.
    expect(quote.total.capUnits).toBe(ASSUMED.characters + scenes + 1 + 3 * seconds);
    expect(quote.estimates.some((e) => e.startsWith("video:"))).toBe(true);
    expect(quote.estimates.some((e) => e.startsWith("music:"))).toBe(true);
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
    expect(quote.callsByKind.join_synced).toBeUndefined();
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
