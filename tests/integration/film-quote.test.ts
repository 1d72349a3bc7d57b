/**
 * produce-movie quote and the film's cap (maxCostUnits), on the real stack against the fakes: a
 * quote writes nothing and its deterministic counts are what the film then submits; a film with a
 * small cap stops paying at it and names budget_exceeded; a bad cap is a 400.
 */
import { describe, expect, it } from "vitest";
import type { FilmShape } from "../support/film-script.ts";
import type { MovieQuote } from "../../shared/client/movies.ts";
import {
  briefFor,
  type FilmRig,
  filmUser,
  paidByProvider,
  readFilm,
  startFilm,
  waitForFilm,
  withFilmRig,
} from "../support/film.ts";
import { connect, createUser, invoke } from "../support/stack.ts";
import { admitPaidIntent, BudgetExceededError } from "../../shared/film/film-budget.ts";

// Two scenes of 15 s, as many as sceneCountFor asks for half a minute: each cut into two shots.
const SHAPE: FilmShape = { scenes: 2, chains: [], clipSeconds: () => 15 };
const LATENCIES = { llm: 50, image: 200, video: 600, voice: 200, lipsync: 200, music: 300 };
const JOB_PROVIDERS = ["runway", "fal", "sync", "beatoven"] as const;

let rig: FilmRig;
withFilmRig({ latencies: LATENCIES }, (started) => (rig = started));

const since = (before: Record<string, number>) =>
  Object.fromEntries(Object.entries(paidByProvider(rig)).map(([p, n]) => [p, n - (before[p] ?? 0)]));

describe("produce-movie quote", () => {
  it("writes nothing, calls no provider, and counts the calls the film then submits", async () => {
    const owner = await filmUser(rig, SHAPE, "Quoted Short");
    const brief = briefFor(SHAPE, "Quoted Short");
    const before = paidByProvider(rig);
    const answer = await invoke("produce-movie", { action: "quote", ...brief }, { token: owner.token });
    expect(answer.status, answer.text).toBe(200);
    const quote = answer.json as MovieQuote;
    expect(since(before)).toEqual(Object.fromEntries(Object.keys(before).map((p) => [p, 0])));
    const [{ movies }] = await rig
      .sql`select count(*)::int as movies from public.movies where user_id = ${owner.id}`;
    expect(movies).toBe(0);
    expect(quote.sceneCount).toBe(SHAPE.scenes);
    expect(quote.estimates.length).toBeGreaterThan(0);
    const line = (provider: string) => quote.perProvider.find((p) => p.provider === provider)!;
    expect(line("runway")).toMatchObject({ type: "video", unit: "seconds", paid: true });

    const { movieId } = await startFilm(owner, brief);
    await waitForFilm(rig.sql, movieId, 120_000);
    const film = await readFilm(rig.sql, movieId);
    expect(film.movie.status, film.movie.error_message).toBe("completed");
    const spent = since(before);
    // One clip per shot: the quote's cut of scenes of equal length, here the screenplay's own.
    const [{ shots }] = await rig
      .sql`select count(*)::int as shots from public.scene_shots where movie_id = ${movieId}`;
    expect(shots).toBe(4);
    expect(spent.runway).toBe(shots);
    expect(quote.callsByKind.video).toBe(shots);
    // The deterministic parts: three LLM calls, one score.
    expect(spent.openai).toBe(quote.callsByKind.llm);
    expect(spent.beatoven).toBe(line("beatoven").calls);
    // The clips' seconds are the film's plus its overlaps: the quote counts every overlap as a fade.
    const seconds = film.metrics.filter((m) => m.provider === "runway").reduce(
      (s, m) => s + Number(m.cost_units),
      0,
    );
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(line("runway").units);
    // No cap: the spend is every paid job's expected units, the cap null.
    const status = await invoke("produce-movie", { action: "status", movieId }, { token: owner.token });
    expect(status.json.spend.cap).toBeNull();
    expect(status.json.spend.units).toBeGreaterThanOrEqual(seconds);
  }, 150_000);

  it("a film stops paying at its cap: the rest fails with budget_exceeded", async () => {
    const owner = await filmUser(rig, SHAPE, "Capped Short");
    const before = paidByProvider(rig);
    // One unit: the first paid job (a 1-image portrait; portraits run side by side) and nothing after.
    const { movieId } = await startFilm(
      owner,
      { ...briefFor(SHAPE, "Capped Short"), maxCostUnits: 1 } as never,
    );
    await waitForFilm(rig.sql, movieId, 120_000);
    const film = await readFilm(rig.sql, movieId);
    const spent = since(before);
    expect(JOB_PROVIDERS.reduce((sum, p) => sum + spent[p], 0)).toBeLessThanOrEqual(1);
    expect(spent.runway).toBe(0);
    expect(spent.elevenlabs).toBe(0);
    expect(film.movie.max_cost_units).toBe("1");
    const refused = film.metrics.filter((m) => String(m.error_message).startsWith("budget_exceeded"));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((m) => m.external_id === null && m.planned_units === null)).toBe(true);
    // Parallel portraits: the cap admitted exactly one, the others name spent, cap and their cost.
    expect(refused.map((m) => m.error_message)).toContainEqual(
      expect.stringMatching(/would cost 1 images, the film has spent 1 of its cap of 1 units/),
    );
    // Every clip refused: nothing to assemble, the film failed, and its error says the cap did it.
    expect(film.movie.status).toBe("failed");
    expect(film.scenes.every((s) => s.status === "failed")).toBe(true);
    expect(film.movie.error_message).toBe(
      "No videos to assemble: Failed=2, Invalid=0 (2 refused by the film's spending cap of 1 units)",
    );
    // Each scene names the refusal's code once.
    for (const scene of film.scenes) {
      expect(scene.error_message.match(/budget_exceeded/g), scene.error_message).toHaveLength(1);
    }
    // No clip was made: the step says so, not "generada".
    expect(film.progress.steps.generate_videos).toMatchObject({
      status: "failed",
      detail: "Escena 2/2: 0 generadas, 2 fallidas",
    });
    const status = await invoke("produce-movie", { action: "status", movieId }, { token: owner.token });
    expect(status.json.spend).toEqual({ units: expect.any(Number), cap: 1 });
    expect(status.json.spend.units).toBeLessThanOrEqual(1);
  }, 150_000);

  it("parallel admissions never pass the cap together: one movie row lock decides", async () => {
    const user = await createUser(rig.sql);
    const [movie] = await rig.sql`
      insert into public.movies (user_id, title, prompt, genre, duration_minutes, max_cost_units, status)
      values (${user.id}, 'Race', 'p', 'g', 1, 5, 'pending') returning id`;
    // The admitting task, running (an intent is recorded only while its task runs).
    const kind = `race.${crypto.randomUUID()}`;
    await rig
      .sql`select engine.enqueue_task(p_user_id => ${user.id}, p_kind => ${kind}, p_function => null, p_dispatch => false)`;
    const [{ id: taskId }] = await rig.sql`select id from engine.claim_next_task(${[kind]}, 'test-race', 30)`;
    const pool = connect(8);
    try {
      const key = (i: number) => ({
        movieId: movie.id,
        userId: user.id,
        step: "generate_videos",
        taskId,
        stepName: `race-${i}`,
        provider: "runway",
        model: "gen4.5",
      });
      // Six 2-second clips against a cap of 5, all at once on their own connections: two fit.
      const settled = await Promise.allSettled(
        Array.from(
          { length: 6 },
          (_, i) => admitPaidIntent(pool as never, key(i), { units: 2, unit: "seconds" }),
        ),
      );
      expect(settled.filter((s) => s.status === "fulfilled")).toHaveLength(2);
      const refused = settled.filter((s): s is PromiseRejectedResult => s.status === "rejected");
      expect(refused.every((s) => s.reason instanceof BudgetExceededError)).toBe(true);
      const [{ planned }] = await rig.sql`
        select sum(planned_units)::int as planned from public.movie_step_metrics where movie_id = ${movie.id}`;
      expect(planned).toBe(4);
    } finally {
      await pool.end();
    }
  });

  it("a bad maxCostUnits or quote body is a 400, and nothing is made", async () => {
    const user = await createUser(rig.sql);
    const brief = briefFor(SHAPE, "Bad Cap");
    for (const maxCostUnits of [0, -5, "10", null]) {
      const answer = await invoke("produce-movie", { action: "start", ...brief, maxCostUnits }, {
        token: user.token,
      });
      expect(answer.status, answer.text).toBe(400);
      expect(answer.json.error.message).toMatch(/maxCostUnits/);
    }
    const quote = await invoke("produce-movie", { action: "quote", ...brief, durationMinutes: 0 }, {
      token: user.token,
    });
    expect(quote.status).toBe(400);
    expect(quote.json.error.message).toMatch(/durationMinutes/);
    // Any signed-in user may quote; nobody else.
    const anonymous = await invoke("produce-movie", { action: "quote", ...brief });
    expect(anonymous.status).toBe(401);
    const [{ movies }] = await rig
      .sql`select count(*)::int as movies from public.movies where user_id = ${user.id}`;
    expect(movies).toBe(0);
  });
});
