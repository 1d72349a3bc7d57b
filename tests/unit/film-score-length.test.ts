/**
 * How long a film's music is asked to be (shared/film/film-requests.ts): the film as the planner
 * cut it, never the minutes asked, up to what the music provider takes in one request.
 */
import { describe, expect, it } from "vitest";
import { filmScoreRequest, plannedFilmSeconds } from "../../shared/film/film-requests.ts";
import type { MovieRow } from "../../shared/film/film-movie.ts";
import { quoteFilm, type QuoteProviders } from "../../shared/film/film-quote.ts";
import { planShots } from "../../shared/film/shot-plan.ts";
import type { Screenplay } from "../../shared/providers/film-schemas.ts";

/** A film of `minutes` whose screenplay the planner cut into scenes of these seconds. */
function film(minutes: number, sceneSeconds: number[]) {
  const scenes = sceneSeconds.map((seconds, i) => ({
    scene_number: i + 1,
    duration: { screen_time_seconds: seconds },
  }));
  return {
    title: "Harbour Lights",
    prompt: "A keeper hears a signal",
    genre: "mystery",
    duration_minutes: String(minutes),
    metadata: { screenplay_detailed: { scenes } as unknown as Screenplay },
  } satisfies Partial<MovieRow>;
}

describe("the music a film asks for", () => {
  it("lasts the film as the planner cut it: 16 s of 8 s clips for 0.25 minutes, not 15", () => {
    // Runway registered with 8 s clips only: two scenes of 7.5 s are cut to one clip each.
    const cut = planShots(
      [1, 2].map((sceneNumber) => ({ sceneNumber, proposedSeconds: 7.5, overlapAfterSeconds: 0 })),
      15,
      [8],
    );
    expect(cut.filmSeconds).toBe(16);
    const movie = film(0.25, cut.scenes.map((s) => s.seconds));
    expect(plannedFilmSeconds(movie)).toBe(16);
    expect(filmScoreRequest(movie, plannedFilmSeconds(movie), "beatoven").durationSeconds).toBe(16);
  });

  it("goes by the minutes asked only while there is no screenplay yet", () => {
    expect(plannedFilmSeconds({ duration_minutes: "0.25", metadata: {} })).toBe(15);
  });

  it("is whole seconds, rounded up, so the track never ends a fraction before the picture", () => {
    expect(filmScoreRequest(film(0.25, []), 15.2, "local").durationSeconds).toBe(16);
    expect(filmScoreRequest(film(0.05, []), 3, "local").durationSeconds).toBe(5);
  });

  it("is at most the longest track the music provider composes: 900 s on Beatoven, 600 s locally", () => {
    const long = film(20, Array.from({ length: 10 }, () => 120));
    expect(plannedFilmSeconds(long)).toBe(1200);
    expect(filmScoreRequest(long, 1200, "beatoven").durationSeconds).toBe(900);
    expect(filmScoreRequest(long, 1200, "local").durationSeconds).toBe(600);
    expect(filmScoreRequest(long, 700, "beatoven").durationSeconds).toBe(700);
  });

  it("is quoted as the clips' seconds the film is cut into, as the pipeline will ask", () => {
    const user = (provider: string, model: string, settings?: Record<string, unknown>) => ({
      provider,
      model,
      source: "user" as const,
      settings,
    });
    const providers: QuoteProviders = {
      llm: user("openai", "gpt-4.1-mini"),
      video: user("runway", "gen4.5", { duration: 8 }),
      image: user("fal", "fal-ai/flux/schnell"),
      audio: user("elevenlabs", "eleven_flash_v2_5"),
      lipsync: user("sync", "lipsync-2"),
      music: user("beatoven", "maestro"),
      render: user("worker", "ffmpeg"),
      search: { provider: "local", model: "local", source: "fallback" },
    };
    const brief = { title: "Harbour Lights", prompt: "A keeper hears a signal", genre: "mystery" };
    const quote = quoteFilm({ ...brief, durationMinutes: 0.25 }, providers);
    expect(quote.perProvider.find((p) => p.type === "music")).toMatchObject({ calls: 1, units: 16 });
  });
});
