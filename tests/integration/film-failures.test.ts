/**
 * How a film fails, on the real stack against the fakes: one scene's Runway task FAILED (the film
 * completes without it), every scene failed (NoVideosToAssembleError, a failed movie), a
 * required provider missing (validate_providers), and cancel (no provider is paid after it). And
 * how one recovers: every scene failed, the owner regenerates the clips and each reassembly gives
 * the film its verdict again until it completes; a film with failed scenes resumed redoes only those.
 */
import { describe, expect, it } from "vitest";
import { type FilmShape, sceneMarker } from "../support/film-script.ts";
import {
  briefFor,
  FAKE_MODELS,
  type FilmRig,
  filmUser,
  paidByProvider,
  readFilm,
  startFilm,
  waitForFilm,
  withFilmRig,
} from "../support/film.ts";
import { renderTaskOf, timelineUrlOf } from "../support/film-record.ts";
import { admin, createUser, invoke, sleep, waitFor, waitForStatus } from "../support/stack.ts";
import { FAKE_API_KEYS } from "../fakes/start-fakes.ts";
import { setAsideGivenUpJob } from "../../shared/film/film-metrics.ts";

const DELETE_TASK = "DELETE /v1/tasks/:id";

const SHAPE: FilmShape = { scenes: 4, chains: [[2, 3]] };
const LATENCIES = { llm: 50, image: 200, video: 600, voice: 200, lipsync: 200, music: 300 };

let rig: FilmRig;
withFilmRig({ latencies: LATENCIES }, (started) => (rig = started));

const totalPaid = () => Object.values(rig.fakes.submissions()).reduce((sum, c) => sum + c.total, 0);

/** A 2-scene film whose every Runway task fails, run to its end: failed, with no clip. */
async function filmWhoseClipsAllFail(title: string) {
  const shape: FilmShape = { scenes: 2, chains: [] };
  rig.fakes.clearScripts();
  rig.fakes.runway.scriptWhen(() => true, {
    phases: ["FAILED"],
    failureCode: "INTERNAL.BAD_OUTPUT.CODE01",
  });
  const owner = await filmUser(rig, shape, title);
  const { movieId } = await startFilm(owner, briefFor(shape, title));
  await waitForFilm(rig.sql, movieId, 120_000);
  expect((await readFilm(rig.sql, movieId)).movie.status).toBe("failed");
  return { owner, movieId };
}

describe("film failures", () => {
  it(
    "one scene's Runway task FAILED: the film completes without it, the scene failed, a warning kept",
    async () => {
      rig.fakes.clearScripts();
      rig.fakes.runway.scriptWhen((body) => String(body.promptText).includes(sceneMarker(2)), {
        phases: ["PENDING", "FAILED"],
        failureCode: "SAFETY.INPUT.TEXT",
        failure: "The prompt was flagged",
      });
      const owner = await filmUser(rig, SHAPE, "One Scene Short");
      const { movieId } = await startFilm(owner, briefFor(SHAPE, "One Scene Short"));
      await waitForFilm(rig.sql, movieId, 120_000);
      const film = await readFilm(rig.sql, movieId);

      expect(film.movie.status, film.movie.error_message).toBe("completed");
      expect(film.movie.video_url).toMatch(/\.mp4$/);
      expect(film.movie.metadata.failed_scenes).toEqual([2]);
      expect(film.movie.metadata.warnings).toEqual([expect.stringContaining("1 of 4 scenes failed (2)")]);
      const [failed] = film.scenes.filter((s) => s.status === "failed");
      expect(failed).toMatchObject({ scene_number: 2, video_url: null });
      expect(failed.error_message).toContain("SAFETY.INPUT.TEXT");
      // Its continuation still gets made, from the library instead of the missing end frame.
      expect(film.scenes[2]).toMatchObject({ scene_number: 3, status: "completed", is_continuation: true });
      expect(["library", "generated"]).toContain(film.scenes[2].reference_image_source);
      const render = await renderTaskOf(rig.sql, film, "assemble_movie:render");
      expect(render.payload.timeline.clips.map((c: { url: string }) => c.url)).toEqual(
        film.scenes.filter((s) => s.status === "completed").map(timelineUrlOf),
      );
      expect(film.progress).toMatchObject({ overall_status: "completed", overall_progress: 100 });
      expect(film.progress.steps.generate_videos).toMatchObject({
        status: "completed",
        detail: "Escena 4/4: 3 generadas, 1 fallida",
      });
      expect(film.metrics.find((m) => m.step_name === "scene-2:video")).toMatchObject({
        phase: "failed",
        provider: "runway",
      });
    },
    120_000,
  );

  it("every scene failed: assembly refuses with its error and the movie fails", async () => {
    rig.fakes.clearScripts();
    rig.fakes.runway.scriptWhen(() => true, {
      phases: ["FAILED"],
      failureCode: "INTERNAL.BAD_OUTPUT.CODE01",
    });
    const owner = await filmUser(rig, SHAPE, "Nothing Left");
    const { movieId } = await startFilm(owner, briefFor(SHAPE, "Nothing Left"));
    await waitForFilm(rig.sql, movieId, 120_000);
    const film = await readFilm(rig.sql, movieId);

    expect(film.movie.status).toBe("failed");
    expect(film.movie.error_message).toBe("No videos to assemble: Failed=4, Invalid=0");
    expect(film.movie.video_url).toBeNull();
    expect(film.scenes.every((s) => s.status === "failed" && s.video_url === null)).toBe(true);
    expect(film.progress.overall_status).toBe("failed");
    expect(film.progress.steps.assemble_movie).toMatchObject({
      status: "failed",
      detail: "No videos to assemble: Failed=4, Invalid=0",
    });
    expect(film.progress.steps.generate_videos).toMatchObject({
      status: "failed",
      detail: "Escena 4/4: 0 generadas, 4 fallidas",
    });
    expect(film.metrics.some((m) => m.step_name === "assemble_movie:render")).toBe(false);
    // No poster paid for a film that does not exist (before, one was).
    expect(film.metrics.some((m) => m.step_name === "generate_cover:poster")).toBe(false);
    expect(film.progress.steps.generate_cover).toMatchObject({ status: "skipped" });
    expect(film.movie.poster_url).toBeNull();
  }, 120_000);

  it(
    "every scene failed, then each clip regenerated and accepted: every reassembly says what is true now and the film completes",
    async () => {
      const { owner, movieId } = await filmWhoseClipsAllFail("Second Take");
      rig.fakes.clearScripts();

      const repair = async (sceneNumber: number) => {
        const regenerate = (body: Record<string, unknown>) =>
          invoke("regenerate-asset", body, { token: owner.token });
        const start = await regenerate({ action: "start", kind: "video", target: { movieId, sceneNumber } });
        expect(start.status, start.text).toBe(202);
        await waitFor(async () => {
          const [run] = await rig
            .sql`select status, error from public.asset_runs where id = ${start.json.runId}`;
          if (run.status === "failed") {
            throw new Error(`preview of scene ${sceneNumber} failed: ${run.error}`);
          }
          return run.status === "preview";
        }, { timeoutMs: 60_000, what: `scene ${sceneNumber}'s new clip` });
        const accepted = await regenerate({ action: "accept", runId: start.json.runId });
        expect(accepted.status, accepted.text).toBe(200);
        await waitForStatus(rig.sql, accepted.json.applyTaskId, ["succeeded"], 120_000);
        return await readFilm(rig.sql, movieId);
      };

      const half = await repair(1);
      expect(half.scenes.map((s) => s.status)).toEqual(["completed", "failed"]);
      expect(half.movie).toMatchObject({ status: "completed", error_message: null });
      expect(half.movie.video_url).toMatch(/\.mp4$/);
      expect(half.movie.metadata.failed_scenes).toEqual([2]);
      expect(half.movie.metadata.warnings).toEqual([expect.stringContaining("1 of 2 scenes failed (2)")]);
      expect(half.progress).toMatchObject({ overall_status: "completed", overall_progress: 100 });

      const whole = await repair(2);
      expect(whole.scenes.map((s) => s.status)).toEqual(["completed", "completed"]);
      expect(whole.movie).toMatchObject({ status: "completed", error_message: null });
      expect(whole.movie.metadata.failed_scenes).toEqual([]);
      expect(whole.movie.metadata.warnings).toEqual([]);
      expect(whole.movie.video_url).not.toBe(half.movie.video_url);
      expect(whole.movie.poster_url).toBeTruthy();
      expect(whole.movie.completed_at).not.toBeNull();
      expect(whole.progress).toMatchObject({ overall_status: "completed", overall_progress: 100 });
      expect(whole.progress.steps.finalize.status).toBe("completed");
    },
    240_000,
  );

  it(
    "a film whose location images failed, resumed: the images are made again, not replayed, and it completes",
    async () => {
      const shape: FilmShape = { scenes: 2, chains: [] };
      rig.fakes.clearScripts();
      // Every image refused: both scenes need their location's reference image, and fail.
      rig.fakes.fal.scriptWhen(() => true, {
        phases: ["COMPLETED"],
        resultError: { status: 422, detail: "image refused" },
      });
      const owner = await filmUser(rig, shape, "Lost Harbour");
      const { movieId } = await startFilm(owner, briefFor(shape, "Lost Harbour"));
      await waitForFilm(rig.sql, movieId, 120_000);
      const before = await readFilm(rig.sql, movieId);
      expect(before.movie.status).toBe("failed");
      expect(before.scenes.map((s) => s.error_message).join(" ")).toContain("reference image failed");
      rig.fakes.clearScripts();

      const submittedBefore = rig.fakes.fal.submitted.length;
      const resumed = await invoke("produce-movie", { action: "resume", movieId }, { token: owner.token });
      expect(resumed.status, resumed.text).toBe(202);
      await waitForFilm(rig.sql, movieId, 120_000);
      const after = await readFilm(rig.sql, movieId);
      // Before, the failed image task was resumed and replayed its recorded failure: the film
      // failed again at every resume, paying nothing and counting each resume.
      expect(after.movie.status, after.movie.error_message).toBe("completed");
      expect(after.scenes.every((s) => s.status === "completed")).toBe(true);
      expect(rig.fakes.fal.submitted.length).toBeGreaterThan(submittedBefore);
      const images = await rig.sql`
        select status, idempotency_key from public.background_tasks
         where kind = 'film.location_image' and payload ->> 'movieId' = ${movieId} order by created_at`;
      expect(images.filter((t) => t.status === "failed").length).toBeGreaterThanOrEqual(1);
      expect(images.filter((t) => t.status === "succeeded").map((t) => t.idempotency_key))
        .toEqual(images.filter((t) => t.status === "succeeded").map(() => expect.stringMatching(/\/after:/)));
    },
    240_000,
  );

  it(
    "a film with failed scenes resumed: only those scenes are paid again and the film completes",
    async () => {
      rig.fakes.clearScripts();
      rig.fakes.runway.scriptWhen(
        (body) => [2, 4].some((n) => String(body.promptText).includes(sceneMarker(n))),
        {
          phases: ["PENDING", "FAILED"],
          failureCode: "SAFETY.INPUT.TEXT",
          failure: "The prompt was flagged",
        },
      );
      const owner = await filmUser(rig, SHAPE, "Patched Reel");
      const { movieId, taskId: firstTask } = await startFilm(owner, briefFor(SHAPE, "Patched Reel"));
      await waitForFilm(rig.sql, movieId, 120_000);
      const before = await readFilm(rig.sql, movieId);
      expect(before.movie.status, before.movie.error_message).toBe("completed");
      expect(before.movie.metadata.failed_scenes).toEqual([2, 4]);
      rig.fakes.clearScripts();

      // Another user's film is not theirs to resume: refused as today, nothing started.
      const stranger = await createUser(rig.sql);
      const refused = await invoke("produce-movie", { action: "resume", movieId }, { token: stranger.token });
      expect(refused.status, refused.text).toBe(404);
      expect((await readFilm(rig.sql, movieId)).movie.task_id).toBe(firstTask);

      const paidBefore = paidByProvider(rig);
      const earlier = rig.fakes.runway.created.length;
      const resumed = await invoke("produce-movie", { action: "resume", movieId }, { token: owner.token });
      expect(resumed.status, resumed.text).toBe(202);
      expect(resumed.json.redo).toEqual({ scenes: [2, 4], voices: [], music: false });
      expect((await readFilm(rig.sql, movieId)).movie.status).toBe("processing");
      await waitForFilm(rig.sql, movieId, 120_000);
      const after = await readFilm(rig.sql, movieId);

      expect(after.movie).toMatchObject({ status: "completed", error_message: null });
      expect(after.movie.task_id).not.toBe(firstTask);
      expect(after.movie.metadata.failed_scenes).toEqual([]);
      expect(after.movie.metadata.warnings).toEqual([]);
      expect(after.movie.video_url).not.toBe(before.movie.video_url);
      expect(after.movie.poster_url).toBe(before.movie.poster_url);
      expect(after.scenes.every((s) => s.status === "completed")).toBe(true);
      // Completed scenes keep their clips; only the failed ones were submitted, once each.
      for (const n of [1, 3]) expect(after.scenes[n - 1].clip_url).toBe(before.scenes[n - 1].clip_url);
      const submitted = rig.fakes.runway.created.slice(earlier).map((b) => String(b.promptText));
      expect(submitted).toHaveLength(2);
      expect([2, 4].map((n) => submitted.filter((p) => p.includes(sceneMarker(n))).length)).toEqual([1, 1]);
      // No script, image, voice or music paid again; the two new clips are lip-synced.
      const paid = paidByProvider(rig);
      const spent = Object.fromEntries(Object.keys(paid).map((p) => [p, paid[p] - paidBefore[p]]));
      expect(spent).toEqual({
        openai: 0,
        runway: 2,
        fal: 0,
        elevenlabs: 0,
        sync: 2,
        beatoven: 0,
        openverse: 0,
      });
      expect(after.progress).toMatchObject({ overall_status: "completed", overall_progress: 100 });

      const again = await invoke("produce-movie", { action: "resume", movieId }, { token: owner.token });
      expect(again.status, again.text).toBe(409);
      expect(again.json.error.code).toBe("task_not_resumable");
    },
    240_000,
  );

  it(
    "a failed film resumed: its failed clips are made again, as often as the limit allows, and it completes",
    async () => {
      const { owner, movieId } = await filmWhoseClipsAllFail("Night Reshoot");
      const resume = () => invoke("produce-movie", { action: "resume", movieId }, { token: owner.token });

      // Redone while Runway still fails: failed again, with the same verdict.
      const first = await resume();
      expect(first.status, first.text).toBe(202);
      expect(first.json.redo).toEqual({ scenes: [1, 2], voices: [], music: false });
      await waitForFilm(rig.sql, movieId, 120_000);
      const again = await readFilm(rig.sql, movieId);
      expect(again.movie).toMatchObject({
        status: "failed",
        error_message: "No videos to assemble: Failed=2, Invalid=0",
      });
      expect(again.movie.metadata.failed_scenes).toEqual([1, 2]);

      // Each redo counts toward the film's resume bound.
      await rig.sql`select public.set_usage_limits(${owner.id}, '{"resumes_per_task": 1}')`;
      const bounded = await resume();
      expect(bounded.status, bounded.text).toBe(409);
      expect(bounded.json.error.code).toBe("resume_limit_reached");
      expect((await readFilm(rig.sql, movieId)).movie).toMatchObject({
        status: "failed",
        task_id: again.movie.task_id,
      });
      await rig.sql`select public.set_usage_limits(${owner.id}, '{"resumes_per_task": null}')`;

      rig.fakes.clearScripts();
      const paidBefore = paidByProvider(rig);
      const resumed = await resume();
      expect(resumed.status, resumed.text).toBe(202);
      expect(resumed.json.redo).toEqual({ scenes: [1, 2], voices: [], music: false });
      await waitForFilm(rig.sql, movieId, 120_000);
      const film = await readFilm(rig.sql, movieId);
      expect(film.movie).toMatchObject({ status: "completed", error_message: null });
      expect(film.movie.video_url).toMatch(/\.mp4$/);
      expect(film.movie.metadata).toMatchObject({ failed_scenes: [], warnings: [] });
      expect(film.progress).toMatchObject({ overall_status: "completed", overall_progress: 100 });
      const paid = paidByProvider(rig);
      expect(paid.runway - paidBefore.runway).toBe(2);
      expect(paid.openai - paidBefore.openai).toBe(0);
    },
    120_000,
  );

  it("a required provider missing: validate_providers names it and nothing is paid", async () => {
    rig.fakes.clearScripts();
    await rig.setEnv({ REELFORGE_LOCAL_FALLBACK: "off" });
    try {
      const owner = await filmUser(rig, SHAPE, "No Camera", ["llm", "audio", "image"]);
      const paidBefore = totalPaid();
      const { movieId } = await startFilm(owner, briefFor(SHAPE, "No Camera"));
      await waitForFilm(rig.sql, movieId, 60_000);
      const film = await readFilm(rig.sql, movieId);
      expect(film.movie.status).toBe("failed");
      expect(film.movie.error_message).toMatch(/validate_providers: no active video provider/);
      expect(film.progress.overall_status).toBe("failed");
      expect(film.scenes).toHaveLength(0);
      expect(totalPaid()).toBe(paidBefore);
    } finally {
      await rig.setEnv({ REELFORGE_LOCAL_FALLBACK: null });
    }
  }, 90_000);

  it(
    "a failed scene redone after the owner registered a clip length: its clips are admitted and counted at that length",
    async () => {
      const shape: FilmShape = { scenes: 2, chains: [] };
      rig.fakes.clearScripts();
      rig.fakes.runway.scriptWhen((body) => String(body.promptText).includes(sceneMarker(2)), {
        phases: ["PENDING", "FAILED"],
        failureCode: "SAFETY.INPUT.TEXT",
        failure: "The prompt was flagged",
      });
      const owner = await filmUser(rig, shape, "Longer Takes");
      const { movieId } = await startFilm(owner, briefFor(shape, "Longer Takes"));
      await waitForFilm(rig.sql, movieId, 120_000);
      expect((await readFilm(rig.sql, movieId)).movie.metadata.failed_scenes).toEqual([2]);
      rig.fakes.clearScripts();
      // Scene 2's shots keep the lengths planned before the registration.
      const shots = await rig.sql`
        select h.duration_seconds from public.scene_shots h join public.movie_scenes s on s.id = h.scene_id
         where s.movie_id = ${movieId} and s.scene_number = 2 order by h.shot_number`;
      const registered = Number(shots[0].duration_seconds) === 10 ? 9 : 10;
      const again = await invoke("providers", {
        action: "register",
        providerType: "video",
        provider: FAKE_MODELS.video.provider,
        model: FAKE_MODELS.video.model,
        apiKey: FAKE_API_KEYS.runway,
        settings: { duration: registered },
      }, { token: owner.token });
      expect(again.status, again.text).toBe(201);
      const earlier = rig.fakes.runway.created.length;
      const resumed = await invoke("produce-movie", { action: "resume", movieId }, { token: owner.token });
      expect(resumed.status, resumed.text).toBe(202);
      await waitForFilm(rig.sql, movieId, 120_000);

      // Runway is sent the registered length (runwayWireRequest) ...
      const sent = rig.fakes.runway.created.slice(earlier);
      expect(sent.map((body) => body.duration)).toEqual(shots.map(() => registered));
      // ... and the film's cap and the owner's daily use count what was sent. Before: each clip was
      // admitted and counted at its planned length.
      const clips = await rig.sql`
        select planned_units, cost_units from public.movie_step_metrics
         where movie_id = ${movieId} and scene_number = 2 and step = 'generate_videos'
           and step_name like '%:video' and phase = 'succeeded' order by started_at`;
      expect(clips.map((c) => [Number(c.planned_units), Number(c.cost_units)]))
        .toEqual(shots.map(() => [registered, registered]));
    },
    240_000,
  );

  it(
    "the owner replaces the video provider while a clip runs: the clip is made again there, not polled at the wrong one",
    async () => {
      const shape: FilmShape = { scenes: 2, chains: [] };
      rig.fakes.clearScripts();
      // Scene 1's clip never finishes at Runway: still running when the owner switches to `local`.
      rig.fakes.runway.scriptWhen((body) => String(body.promptText).includes(sceneMarker(1)), {
        phases: ["PENDING", "RUNNING"],
      });
      const owner = await filmUser(rig, shape, "Switched");
      const { movieId } = await startFilm(owner, briefFor(shape, "Switched"));
      const runwayJob = await waitFor(async () => {
        const [row] = await rig.sql`
          select external_id from public.movie_step_metrics
           where movie_id = ${movieId} and scene_number = 1 and provider = 'runway' and phase = 'submitted'`;
        return row?.external_id as string | undefined;
      }, { timeoutMs: 60_000, what: "scene 1's clip submitted to Runway" });

      const local = await invoke("providers", {
        action: "register",
        providerType: "video",
        provider: "local",
        model: "local",
      }, { token: owner.token });
      expect(local.status, local.text).toBe(201);
      // A film reads its owner's providers at each slice: end the one polling Runway (a kill, as the
      // platform's), so the next slice runs now rather than when this one's wall clock is spent.
      await admin("workers/kill", { function: "generate-scene-video" });
      await waitForFilm(rig.sql, movieId, 120_000);

      const film = await readFilm(rig.sql, movieId);
      const clips = await rig.sql`
        select step_name, provider, phase, error_message from public.movie_step_metrics
         where movie_id = ${movieId} and scene_number = 1 and step = 'generate_videos' and step_name like '%:video%'
         order by started_at`;
      // Before, the next slice polled Runway's task id at the `local` provider: the scene failed.
      expect(film.movie.status, JSON.stringify(clips)).toBe("completed");
      expect(film.scenes[0].status, JSON.stringify(clips)).toBe("completed");
      expect(clips).toEqual([
        {
          step_name: expect.stringMatching(new RegExp(`:video#${runwayJob}$`)),
          provider: "runway",
          phase: "failed",
          error_message: expect.stringMatching(/provider changed from runway\/.+ to local\/local/),
        },
        {
          step_name: expect.stringMatching(/:video$/),
          provider: "local",
          phase: "succeeded",
          error_message: null,
        },
      ]);
    },
    150_000,
  );

  it(
    "music that failed: the film completes saying so, and resume makes the music",
    async () => {
      const shape: FilmShape = { scenes: 2, chains: [] };
      rig.fakes.clearScripts();
      rig.fakes.beatoven.nextTask({ phases: ["started", "failed"] });
      const owner = await filmUser(rig, shape, "Silent Score");
      const { movieId } = await startFilm(owner, briefFor(shape, "Silent Score"));
      await waitForFilm(rig.sql, movieId, 120_000);
      const first = await readFilm(rig.sql, movieId);
      expect(first.movie.status).toBe("completed");
      expect(first.movie.metadata.music_url ?? null).toBeNull();
      expect(first.progress.steps.generate_music.status).toBe("failed");
      // Before, a film without its music said nothing of it, and resume had "nothing to resume".
      expect(first.movie.metadata.warnings).toEqual([expect.stringMatching(/^No music: /)]);

      const resumed = await invoke("produce-movie", { action: "resume", movieId }, { token: owner.token });
      expect(resumed.status, resumed.text).toBe(202);
      expect(resumed.json.redo).toEqual({ scenes: [], voices: [], music: true });
      await waitFor(async () => (await readFilm(rig.sql, movieId)).movie.task_id !== first.movie.task_id, {
        what: "the redo task in place",
      });
      await waitForFilm(rig.sql, movieId, 120_000);
      const second = await readFilm(rig.sql, movieId);
      expect(second.movie.status).toBe("completed");
      expect(second.movie.metadata.music_url).toEqual(expect.any(String));
      expect(second.movie.metadata.warnings).toEqual([]);
      expect(second.progress.steps.generate_music.status).toBe("completed");
    },
    150_000,
  );

  it("a music task that failed for good: its step says why, and the film warns of it", async () => {
    const shape: FilmShape = { scenes: 2, chains: [] };
    rig.fakes.clearScripts();
    const owner = await filmUser(rig, shape, "Refused Score");
    // A key Beatoven refuses (401): the film.music task fails at once, before any job exists.
    const wrongKey = await invoke("providers", {
      action: "register",
      providerType: "music",
      provider: "beatoven",
      model: "maestro",
      apiKey: "beatoven-key-that-is-not-ours",
    }, { token: owner.token });
    expect(wrongKey.status, wrongKey.text).toBe(201);
    const { movieId } = await startFilm(owner, briefFor(shape, "Refused Score"));
    await waitForFilm(rig.sql, movieId, 120_000);
    const film = await readFilm(rig.sql, movieId);
    const [music] = film.tasks.filter((t) => t.kind === "film.music");
    expect(music.status, JSON.stringify(music.last_error)).toBe("failed");
    expect(film.movie.status).toBe("completed");
    // Before, the step stayed running ("Composing") and the film said nothing of its music.
    expect(film.progress.steps.generate_music).toMatchObject({
      status: "failed",
      detail: `No music: ${music.last_error.message}`,
    });
    expect(film.movie.metadata.warnings).toEqual([`No music: ${music.last_error.message}`]);
    // Nothing reached Beatoven: its row closed with the task, not left in flight for good.
    expect(film.metrics.filter((m) => m.step === "generate_music")).toEqual([
      expect.objectContaining({
        provider: "beatoven",
        phase: "failed",
        external_id: null,
        error_message: `not submitted: ${music.last_error.message}`,
        finished_at: expect.any(Date),
      }),
    ]);
    expect(film.metrics.filter((m) => m.finished_at === null)).toEqual([]);
    expect(JSON.stringify(film.progress)).not.toContain("beatoven-key-that-is-not-ours");
  }, 120_000);

  it(
    "a regenerated clip cancelled or rejected while Runway makes it, by any model: the job is cancelled there",
    async () => {
      const shape: FilmShape = { scenes: 2, chains: [] };
      rig.fakes.clearScripts();
      const owner = await filmUser(rig, shape, "Second Thoughts");
      const { movieId } = await startFilm(owner, briefFor(shape, "Second Thoughts"));
      await waitForFilm(rig.sql, movieId, 120_000);
      expect((await readFilm(rig.sql, movieId)).movie.status).toBe("completed");
      // From here every new clip stays in production at Runway.
      rig.fakes.runway.scriptWhen(() => true, { phases: ["PENDING", "RUNNING"] });
      const regenerate = (body: Record<string, unknown>) =>
        invoke("regenerate-asset", body, { token: owner.token });

      // The third is made with another Runway model than the owner's (draft.model).
      const runs = [[1, "cancel", {}], [2, "reject", {}], [1, "cancel", {
        draft: { model: "gen4_turbo" },
      }]] as const;
      for (const [sceneNumber, end, draft] of runs) {
        const start = await regenerate({
          action: "start",
          kind: "video",
          target: { movieId, sceneNumber },
          ...draft,
        });
        expect(start.status, start.text).toBe(202);
        const job = await waitFor(async () => {
          const [row] = await rig.sql`
          select external_id from public.movie_step_metrics
           where task_id = ${start.json.taskId} and phase = 'submitted'`;
          return row?.external_id as string | undefined;
        }, { timeoutMs: 60_000, what: `scene ${sceneNumber}'s clip submitted to Runway` });
        const ended = await regenerate(
          end === "cancel"
            ? { action: "cancel", taskId: start.json.taskId }
            : { action: "reject", runId: start.json.runId },
        );
        expect(ended.status, ended.text).toBe(200);
        // Before, the job ran on at Runway (paid for) and its row stayed `submitted`, in flight for good.
        await waitFor(async () => rig.fakes.runway.cancelled.includes(job), {
          timeoutMs: 60_000,
          what: `Runway's job ${job} cancelled after the ${end}`,
        });
        // Runway's DELETE comes before film.cancel_jobs closes the row, in that task's next statement.
        const rows = await waitFor(async () => {
          const found = await rig.sql`
          select phase, error_message, finished_at is not null as finished from public.movie_step_metrics
           where task_id = ${start.json.taskId}`;
          return found.every((row) => row.finished) ? found : null;
        }, { timeoutMs: 30_000, what: `the metrics row of ${job} closed` });
        expect(rows).toEqual([
          {
            phase: "cancelled",
            error_message: "cancelled with its regeneration (cancelled at the provider)",
            finished: true,
          },
        ]);
      }
    },
    150_000,
  );

  it("a job that succeeded before its film's cancel reached it is kept for a resume, not cancelled", async () => {
    rig.fakes.clearScripts();
    const owner = await filmUser(rig, SHAPE, "Finished First");
    /** A Runway task of the owner's model at the fake, as a film task would have submitted it. */
    const runwayTask = async (phases: string[]) => {
      rig.fakes.runway.nextTask({ phases });
      const answer = await fetch(`${rig.fakes.runway.baseUrl}/v1/text_to_video`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${FAKE_API_KEYS.runway}`,
          "x-runway-version": "2024-11-06",
          "content-type": "application/json",
        },
        body: JSON.stringify({ model: "gen4.5", promptText: "a clip", ratio: "1280:720", duration: 5 }),
      });
      return ((await answer.json()) as { id: string }).id;
    };
    const done = await runwayTask(["SUCCEEDED"]);
    const running = await runwayTask(["PENDING", "RUNNING"]);
    // The film's task submitted both, recorded them, and was cancelled before it polled them again.
    const [task] = await rig.sql`
      insert into public.background_tasks (user_id, kind, function_name, status, finished_at)
      values (${owner.id}, 'film.produce', 'produce-movie', 'cancelled', now()) returning id`;
    const [movie] = await rig.sql`
      insert into public.movies (user_id, title, prompt, genre, duration_minutes, status, task_id)
      values (${owner.id}, 'Finished First', 'p', 'drama', 1, 'cancelled', ${task.id}) returning id`;
    for (const [scene, jobId] of [[1, done], [2, running]] as const) {
      await rig.sql`
        insert into public.background_task_steps (task_id, name, status, external_id)
        values (${task.id}, ${`clip-${scene}`}, 'submitted', ${jobId})`;
      await rig.sql`
        insert into public.movie_step_metrics (movie_id, user_id, step, scene_number, task_id, step_name,
          provider, model, phase, external_id, planned_units, cost_unit)
        values (${movie.id}, ${owner.id}, 'video', ${scene}, ${task.id}, ${`clip-${scene}`},
          'runway', 'gen4.5', 'submitted', ${jobId}, 5, 'seconds')`;
    }
    const deletesBefore = rig.fakes.runway.hits(DELETE_TASK);
    await rig.sql`select public.enqueue_film_cancel_jobs(${owner.id}, ${movie.id}, ${crypto.randomUUID()})`;
    const rows = async () =>
      await rig.sql`
        select step_name, phase, cost_units::float as cost, error_message from public.movie_step_metrics
         where movie_id = ${movie.id} and finished_at is not null order by step_name`;
    await waitFor(async () => (await rows()).length === 2, {
      timeoutMs: 30_000,
      what: "both jobs' rows closed",
    });
    // Before: both cancelled, and Runway deletes a finished task with its output.
    expect(rig.fakes.runway.cancelled).toContain(running);
    expect(rig.fakes.runway.cancelled).not.toContain(done);
    expect(rig.fakes.runway.hits(DELETE_TASK) - deletesBefore).toBe(1);
    const [kept, cancelled] = await rows();
    expect(kept).toMatchObject({ step_name: "clip-1", phase: "succeeded", cost: 5 });
    expect(kept.error_message).toContain("before the film was cancelled: kept (a resume uses it)");
    expect(cancelled).toMatchObject({ step_name: "clip-2", phase: "cancelled", cost: null });
    // A resume polls the kept job rather than paying again: only a `cancelled` row is set aside.
    expect(
      await setAsideGivenUpJob(rig.sql, task.id, "clip-1", done, { provider: "runway", model: "gen4.5" }),
    )
      .toBe(false);
    expect(
      await setAsideGivenUpJob(rig.sql, task.id, "clip-2", running, { provider: "runway", model: "gen4.5" }),
    )
      .toBe(true);
  });

  it("cancel stops every further provider submission", async () => {
    rig.fakes.clearScripts();
    const shape: FilmShape = { scenes: 8, chains: [[1, 2, 3, 4], [5, 6, 7, 8]] };
    const owner = await filmUser(rig, shape, "Cut Short");
    // The chains' first clips never finish at Runway: still open, and paid for, when the film is cancelled.
    const stillRunning = (body: Record<string, unknown>) =>
      [1, 5].some((n) => String(body.promptText).includes(sceneMarker(n)));
    rig.fakes.runway.scriptWhen(stillRunning, { phases: ["PENDING", "RUNNING"] });
    const earlier = rig.fakes.runway.created.length;
    const created = () => rig.fakes.runway.created.slice(earlier).map((b) => String(b.promptText));
    const { movieId } = await startFilm(owner, briefFor(shape, "Cut Short"));
    // Cancel while the chains are mid-way: first clips paid for, later ones still to come.
    await waitFor(
      async () =>
        created().filter((p) => p.includes(sceneMarker(1)) || p.includes(sceneMarker(5))).length === 2,
      { timeoutMs: 60_000, what: "the chains' first clips" },
    );
    // Paid for *and recorded*: a job whose id a cancel fences out before it is recorded is the
    // submission window the film chaos test bounds, not something a cancel can know to undo.
    await waitFor(async () =>
      (await rig.sql`
      select count(*)::int as n from public.movie_step_metrics
       where movie_id = ${movieId} and provider = 'runway' and external_id is not null`)[0].n === 2, {
      timeoutMs: 60_000,
      what: "the first clips' Runway ids recorded",
    });
    const deletesBefore = rig.fakes.runway.hits(DELETE_TASK);
    const cancelled = await invoke("produce-movie", { action: "cancel", movieId }, { token: owner.token });
    expect(cancelled.status, cancelled.text).toBe(200);
    await sleep(300); // a submission already on the wire when the cancel committed may still land
    const paidAtCancel = paidByProvider(rig);
    await sleep(4 * LATENCIES.video);
    expect(paidByProvider(rig)).toEqual(paidAtCancel);
    const film = await readFilm(rig.sql, movieId);
    expect(film.movie.status).toBe("cancelled");
    expect(film.progress.overall_status).toBe("cancelled");
    expect(film.tasks.every((t) => ["cancelled", "succeeded", "failed"].includes(t.status))).toBe(true);
    expect(created().filter((p) => p.includes(sceneMarker(4)) || p.includes(sceneMarker(8)))).toHaveLength(0);

    // The two clips paid for and still running were cancelled at Runway (film.cancel_jobs): one
    // DELETE each, recorded on their metrics rows.
    const cancelledAtRunway = async () =>
      (await rig.sql`
      select count(*)::int as n from public.movie_step_metrics
       where movie_id = ${movieId} and provider = 'runway' and error_message like 'cancelled with the film%'`)[
        0
      ].n as number;
    await waitFor(async () => (await cancelledAtRunway()) === 2, {
      timeoutMs: 20_000,
      what: "the two open clips cancelled at Runway",
    });
    expect(rig.fakes.runway.hits(DELETE_TASK) - deletesBefore).toBe(2);

    // By its produce task's id (all a client holding the start answer's taskId has), resume and
    // cancel act on the film itself: the movie row follows.
    const [{ task_id: taskId }] = await rig.sql`select task_id from public.movies where id = ${movieId}`;
    const resumed = await invoke("produce-movie", { action: "resume", taskId }, { token: owner.token });
    expect(resumed.status, resumed.text).toBe(202);
    expect(resumed.json.movieId).toBe(movieId);
    expect((await readFilm(rig.sql, movieId)).movie.status).toBe("processing");
    const again = await invoke("produce-movie", { action: "cancel", taskId }, { token: owner.token });
    expect(again.status, again.text).toBe(200);
    expect((await readFilm(rig.sql, movieId)).movie.status).toBe("cancelled");
  }, 120_000);
});
