/**
 * Provider job deadlines on the real stack against the fakes: a Runway task that stays RUNNING for
 * ever is given up at the deadline its provider row sets (jobDeadlineSeconds): cancelled at Runway
 * (the fake records the DELETE), the scene failed with provider_timeout, and the film completes
 * with its other scenes. And the setting's bounds at registration.
 */
import { describe, expect, it } from "vitest";
import { type FilmShape, sceneMarker } from "../support/film-script.ts";
import {
  briefFor,
  FAKE_MODELS,
  type FilmRig,
  filmUser,
  readFilm,
  startFilm,
  waitForFilm,
  withFilmRig,
} from "../support/film.ts";
import { FAKE_API_KEYS } from "../fakes/start-fakes.ts";
import { invoke, type TestUser } from "../support/stack.ts";

const SHAPE: FilmShape = { scenes: 3, chains: [] };
const LATENCIES = { llm: 50, image: 200, video: 600, voice: 200, lipsync: 200, music: 300 };
const DEADLINE_SECONDS = 3;

let rig: FilmRig;
withFilmRig({ latencies: LATENCIES }, (started) => (rig = started));

/** Registers the user's video provider (the Runway fake) with `settings`. */
async function registerVideo(user: TestUser, settings: Record<string, unknown>) {
  return await invoke("providers", {
    action: "register",
    providerType: "video",
    provider: FAKE_MODELS.video.provider,
    model: FAKE_MODELS.video.model,
    apiKey: FAKE_API_KEYS[FAKE_MODELS.video.provider],
    settings,
    concurrencyLimit: 8,
  }, { token: user.token });
}

describe("provider job deadlines", () => {
  it(
    "a Runway task that never finishes: cancelled at its deadline, its scene failed with provider_timeout, the film completes",
    async () => {
      rig.fakes.clearScripts();
      rig.fakes.runway.scriptWhen((body) => String(body.promptText).includes(sceneMarker(2)), {
        phases: ["RUNNING"],
      });
      const owner = await filmUser(rig, SHAPE, "Long Night", ["llm", "image", "audio", "lipsync", "music"]);
      const registered = await registerVideo(owner, { jobDeadlineSeconds: DEADLINE_SECONDS });
      expect(registered.status, registered.text).toBe(201);
      const { movieId } = await startFilm(owner, briefFor(SHAPE, "Long Night"));
      await waitForFilm(rig.sql, movieId, 120_000);
      const film = await readFilm(rig.sql, movieId);

      expect(film.movie.status, film.movie.error_message).toBe("completed");
      expect(film.movie.metadata.failed_scenes).toEqual([2]);
      expect(film.movie.metadata.warnings).toEqual([expect.stringContaining("1 of 3 scenes failed (2)")]);
      expect(film.scenes.map((s) => s.status)).toEqual(["completed", "failed", "completed"]);
      const failed = film.scenes[1];
      expect(failed.video_url).toBeNull();
      expect(failed.error_message).toContain("provider_timeout");
      expect(failed.error_message).toContain(`runway ${FAKE_MODELS.video.model}`);
      expect(failed.error_message).toContain(`${DEADLINE_SECONDS} s after its submission`);
      expect(failed.error_message).toContain("cancelled at the provider");

      const metric = film.metrics.find((m) => m.step_name === "scene-2:video");
      expect(metric).toMatchObject({ phase: "failed", provider: "runway" });
      expect(metric!.error_message).toContain("its deadline");
      // The very job the film paid for was cancelled at Runway, and no other.
      expect(rig.fakes.runway.cancelled).toContain(metric!.external_id);
      const videoJobs = film.metrics.filter((m) => m.provider === "runway").map((m) => m.external_id);
      expect(rig.fakes.runway.cancelled.filter((id) => videoJobs.includes(id))).toEqual([
        metric!.external_id,
      ]);
      // The step ended as failed (recorded), so nothing polls or pays for it again.
      const [step] = await rig.sql`
      select status, result from public.background_task_steps where name = 'scene-2:video' and task_id = ${
        metric!.task_id
      }`;
      expect(step).toMatchObject({
        status: "completed",
        result: { ok: false, failureCode: "provider_timeout" },
      });
      expect(film.progress).toMatchObject({ overall_status: "completed", overall_progress: 100 });
    },
    120_000,
  );

  it("jobDeadlineSeconds is a job provider's setting, a whole number of seconds from 1 to a day", async () => {
    const owner = await filmUser(rig, SHAPE, "Settings Only", []);
    for (const bad of [0, 1.5, 86_401, "600"]) {
      const answer = await registerVideo(owner, { jobDeadlineSeconds: bad });
      expect(answer.status, answer.text).toBe(400);
      expect(answer.json.error.code).toBe("invalid_settings");
    }
    // A synchronous provider (TTS) has no jobs, so no job deadline.
    const voice = await invoke("providers", {
      action: "register",
      providerType: "audio",
      provider: FAKE_MODELS.audio.provider,
      model: FAKE_MODELS.audio.model,
      apiKey: FAKE_API_KEYS[FAKE_MODELS.audio.provider],
      settings: { jobDeadlineSeconds: 60 },
    }, { token: owner.token });
    expect(voice.status, voice.text).toBe(400);
    expect((await registerVideo(owner, { jobDeadlineSeconds: 900 })).status).toBe(201);
  });
});
