/**
 * A film through ≥ 50 random worker kills: it completes by itself, no job was paid for again
 * once its id was recorded, and what it left in the tables (scenes, voices, final video length) equals an
 * uninterrupted run of the same brief. The render worker is not killed here (its kills are
 * tested in render-worker.test.ts); the four film functions' workers are, at random moments.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FilmShape } from "../support/film-script.ts";
import {
  briefFor,
  FILM_FUNCTIONS,
  type FilmRecord,
  type FilmRig,
  filmUser,
  readFilm,
  startFilm,
  startFilmRig,
  waitForFilm,
} from "../support/film.ts";
import { download, durationOf } from "../support/render-media.ts";
import { admin, sleep } from "../support/stack.ts";

const KILLS = 50;
const SHAPE: FilmShape = { scenes: 8, chains: [[2, 3, 4], [6, 7, 8]] };
const LATENCIES = { llm: 150, image: 400, video: 2500, voice: 400, lipsync: 400, music: 800 };
const TITLE = "Night Shift";
const dir = mkdtempSync(join(tmpdir(), "reelforge-film-kills-"));

let rig: FilmRig;

beforeAll(async () => {
  rig = await startFilmRig({ latencies: LATENCIES });
});
afterAll(async () => {
  await rig?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** What must not depend on kills: every scene's and line's outcome, and the film's length. */
async function outputsOf(film: FilmRecord, name: string) {
  return {
    movie: {
      status: film.movie.status,
      failed: film.movie.metadata.failed_scenes,
      warnings: film.movie.metadata.warnings,
      hasPoster: Boolean(film.movie.poster_url),
    },
    seconds: Math.round(durationOf(await download(film.movie.video_url, join(dir, `${name}.mp4`))) * 10) / 10,
    scenes: film.scenes.map((s) => ({
      n: s.scene_number,
      status: s.status,
      audio: s.audio_status,
      mix: s.mix_status,
      continuesFrom: s.continues_from,
      // Which of library/generated a first scene gets depends on which scene reached the library first.
      reference: s.continues_from === null ? "location" : s.reference_image_source,
      duration: Number(s.duration_seconds),
      prompt: s.video_prompt,
      location: s.location_slug,
      hasClip: Boolean(s.clip_url && s.end_frame_url),
    })),
    audio: film.audio.map((a) => ({
      n: a.scene_number,
      i: a.line_index,
      text: a.text,
      voice: a.voice_id,
      at: Number(a.start_seconds),
      status: a.status,
      hasUrl: Boolean(a.audio_url),
    })),
    progress: { status: film.progress.overall_status, value: film.progress.overall_progress },
  };
}

describe("a film under random worker kills", () => {
  it(
    `completes by itself through ${KILLS} kills, never pays twice for a recorded job, and ends as an uninterrupted run does`,
    async () => {
      rig.fakes.resetCounters();
      const phases: Record<string, number> = {};
      let phaseStart = Date.now();
      const phaseEnds = (name: string) => {
        phases[name] = Math.round((Date.now() - phaseStart) / 1000);
        phaseStart = Date.now();
      };
      const referenceStarted = Date.now();
      const reference = await startFilm(await filmUser(rig, SHAPE, TITLE), briefFor(SHAPE, TITLE));
      await waitForFilm(rig.sql, reference.movieId, 120_000);
      // The kills are paced by the uninterrupted film, not by a fixed gap: spread over the first
      // 60 % of its length, all of them land while the film (slower for every kill) is still in
      // production, on a fast machine as on a busy one. Pacing only; nothing asserts a duration.
      const meanGapMs = (0.6 * (Date.now() - referenceStarted)) / KILLS;
      await rig.checkEnvIntact();
      const uninterrupted = await readFilm(rig.sql, reference.movieId);
      expect(uninterrupted.movie.status, uninterrupted.movie.error_message).toBe("completed");
      expect(uninterrupted.scenes.every((s) => s.status === "completed")).toBe(true);
      const referencePaid = rig.fakes.submissions();
      rig.fakes.resetCounters();
      phaseEnds("reference film s");

      const owner = await filmUser(rig, SHAPE, TITLE);
      const { movieId } = await startFilm(owner, briefFor(SHAPE, TITLE));
      const killsBy: Record<string, number> = {};
      let kills = 0;
      // Gaps shrink to what is left of the window: the time each kill's own calls take, and the
      // turns when no worker was alive, must not carry the last kills past the film's end.
      const windowEnds = Date.now() + meanGapMs * KILLS;
      while (kills < KILLS) {
        const fairShare = Math.max(0, windowEnds - Date.now()) / (KILLS - kills);
        await sleep(Math.min(meanGapMs, fairShare) * (0.5 + Math.random()));
        const alive = ((await admin("workers")).live as { function: string }[]).filter((w) =>
          FILM_FUNCTIONS.includes(w.function)
        );
        if (alive.length === 0) continue;
        const target = alive[Math.floor(Math.random() * alive.length)].function;
        const { killed } = await admin("workers/kill", { function: target }) as { killed: unknown[] };
        if (killed.length === 0) continue;
        kills++;
        killsBy[target] = (killsBy[target] ?? 0) + 1;
        const [movie] = await rig.sql`select status from public.movies where id = ${movieId}`;
        expect(["pending", "processing"], `the film ended before kill ${kills}`).toContain(movie.status);
      }

      phaseEnds("kills s");

      // No resume from here: leases, liveness locks and the sweeper bring every task back.
      await waitForFilm(rig.sql, movieId, 180_000);
      phaseEnds("recovery s");
      await rig.checkEnvIntact();
      const killed = await readFilm(rig.sql, movieId);
      expect(killed.movie.status, killed.movie.error_message).toBe("completed");
      expect(await outputsOf(killed, "killed")).toEqual(await outputsOf(uninterrupted, "reference"));

      // Paid jobs: the same inputs as uninterrupted, and no input paid again once its job id was
      // recorded. The one gap no engine can close without the provider's help (Runway, fal and
      // Beatoven take no idempotency key): a kill after the provider accepted a job and before its id
      // was recorded (one SQL round trip) loses that id, and the resumed task pays again. Any such
      // repeat must look exactly like that: only its last job id recorded, every submission before it.
      const paid = rig.fakes.submissions();
      const recorded = new Map((await rig.sql`
      select external_id, created_at from public.background_task_steps where external_id is not null`)
        .map((r) => [r.external_id as string, new Date(r.created_at).getTime()]));
      let lostInWindow = 0;
      for (const provider of ["runway", "fal", "beatoven", "sync"] as const) {
        expect(paid[provider].inputs, provider).toBe(referencePaid[provider].inputs);
        for (const repeat of rig.fakes[provider].repeats()) {
          const ids = repeat.jobIds.filter((id): id is string => id !== null && recorded.has(id));
          expect(ids, `${provider}: an input paid ${repeat.jobIds.length} times has one recorded job`)
            .toHaveLength(1);
          expect(repeat.jobIds.at(-1), `${provider}: the recorded job is the last one paid`).toBe(ids[0]);
          expect(Math.max(...repeat.receivedAt), `${provider}: nothing paid after the id was recorded`)
            .toBeLessThanOrEqual(recorded.get(ids[0])!);
          lostInWindow += repeat.jobIds.length - 1;
        }
      }
      expect(lostInWindow).toBeLessThanOrEqual(kills);
      // Synchronous calls (TTS, LLM) have no job id to record before the answer: a kill inside one
      // repeats it (every line in flight in the killed process). What must never happen is a call
      // for a line whose step was already recorded: each TTS request arrived before its step ended.
      const repeats = (p: "elevenlabs" | "openai") => paid[p].total - referencePaid[p].total;
      console.log(
        `phases ${JSON.stringify(phases)}; kills ${JSON.stringify(killsBy)}; repeated TTS ${
          repeats("elevenlabs")
        }, LLM ${repeats("openai")}; jobs lost in the submission window ${lostInWindow}`,
      );
      expect(repeats("openai")).toBeLessThanOrEqual(killsBy["produce-movie"] ?? 0);
      const lineSteps = await rig.sql`
      select a.text, s.completed_at from public.scene_audio a
        join public.movie_step_metrics m on m.movie_id = a.movie_id and m.scene_number = a.scene_number
                                        and m.step_name = 'line-' || a.line_index and m.provider = 'elevenlabs'
        join public.background_task_steps s on s.task_id = m.task_id and s.name = m.step_name
       where a.movie_id = ${movieId}`;
      expect(lineSteps).toHaveLength(killed.audio.length);
      const recordedAt = new Map(
        lineSteps.map((l) => [l.text as string, new Date(l.completed_at).getTime()]),
      );
      const calls = rig.fakes.elevenlabs.requests.filter((r) =>
        recordedAt.has(r.body.text) && r.receivedAt >= new Date(killed.movie.created_at).getTime()
      );
      expect(calls.length).toBe(paid.elevenlabs.total);
      expect(calls.filter((r) => r.receivedAt > recordedAt.get(r.body.text)!)).toEqual([]);
      expect(killed.metrics.filter((m) => m.phase !== "succeeded")).toEqual([]);
    },
    360_000,
  );
});
