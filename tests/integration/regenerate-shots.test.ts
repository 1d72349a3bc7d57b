/**
 * Regenerating one shot of a scene cut into shots (docs/regenerate-asset.md, "Shots"), on the
 * contract fakes: a 2-scene film whose scene 1 runs 12 s (two shots of 6 s on gen4.5's grid) and
 * whose scene 2 continues from scene 1's last frame. Accepting a new shot 1 makes shot 2 and scene
 * 2 stale; the cascade (the default) regenerates shot 2 from shot 1's new last frame, then scene 2
 * from scene 1's new last frame; the scene's clip is its shots joined again, its length unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  briefFor,
  type FilmRig,
  filmUser,
  QUICK_LATENCIES,
  startFilm,
  startFilmRig,
  waitForFilm,
} from "../support/film.ts";
import {
  admin,
  invoke,
  pauseRenderWorkers,
  type TestUser,
  waitFor,
  waitForStatus,
} from "../support/stack.ts";
import { addressOfSigned } from "../support/stack-storage.ts";

const SHAPE = { scenes: 2, chains: [[1, 2]], clipSeconds: (n: number) => (n === 1 ? 12 : 3) };
const TITLE = "Two Shots of Fog";

let rig: FilmRig;
let owner: TestUser;
let movieId: string;

const regenerate = (body: Record<string, unknown>) =>
  invoke("regenerate-asset", body, { token: owner.token });
const scene = async (n: number) =>
  (await rig.sql`select * from public.movie_scenes where movie_id = ${movieId} and scene_number = ${n}`)[0];
const shots = async (n: number) =>
  await rig.sql`
    select h.* from public.scene_shots h join public.movie_scenes s on s.id = h.scene_id
     where s.movie_id = ${movieId} and s.scene_number = ${n} order by h.shot_number`;

beforeAll(async () => {
  rig = await startFilmRig({ latencies: QUICK_LATENCIES });
  owner = await filmUser(rig, SHAPE, TITLE);
  ({ movieId } = await startFilm(owner, briefFor(SHAPE, TITLE)));
  const movie = await waitForFilm(rig.sql, movieId, 180_000);
  expect(movie.status, movie.error_message).toBe("completed");
  expect((await shots(1)).map((s) => Number(s.duration_seconds))).toEqual([6, 6]);
  expect(await shots(2)).toHaveLength(1);
}, 300_000);

afterAll(async () => {
  await rig?.close();
});

describe("a shot regenerated", () => {
  it("needs target.shotNumber for a scene cut into shots, and a shot that exists; nothing starts otherwise", async () => {
    const before = await rig
      .sql`select count(*)::int as n from public.asset_runs where movie_id = ${movieId}`;
    const none = await regenerate({ action: "start", kind: "video", target: { movieId, sceneNumber: 1 } });
    expect(none.status).toBe(400);
    expect(none.json.error).toMatchObject({ code: "shot_required" });
    expect(none.json.error.message).toMatch(/2 shots/);
    const far = await regenerate({
      action: "start",
      kind: "video",
      target: { movieId, sceneNumber: 1, shotNumber: 3 },
    });
    expect(far.status).toBe(400);
    expect(far.json.error).toMatchObject({ code: "unknown_shot" });
    const audio = await regenerate({
      action: "start",
      kind: "audio",
      target: { movieId, sceneNumber: 1, lineIndex: 0, shotNumber: 1 },
    });
    expect(audio.status).toBe(400);
    expect(audio.text).toContain("shotNumber");
    const after = await rig.sql`select count(*)::int as n from public.asset_runs where movie_id = ${movieId}`;
    expect(after[0].n).toBe(before[0].n);
  });

  it(
    "accepted with cascade: the next shot, then the continuing scene, are made again from the new last frames",
    async () => {
      const [first, second] = await shots(1);
      const sceneBefore = await scene(1);
      const [movieBefore] = await rig.sql`select video_url from public.movies where id = ${movieId}`;
      const start = await regenerate({
        action: "start",
        kind: "video",
        target: { movieId, sceneNumber: 1, shotNumber: 1 },
        draft: { prompt: "The keeper lifts the lantern into the fog" },
      });
      expect(start.status, start.text).toBe(202);
      const run = await waitFor(async () => {
        const [row] = await rig.sql`select * from public.asset_runs where id = ${start.json.runId}`;
        return row.status !== "running" ? row : null;
      }, { timeoutMs: 60_000, what: "shot 1's preview" });
      expect(run.status, run.error).toBe("preview");
      const [preview] = await rig.sql`select * from public.assets where id = ${run.preview_asset_id}`;
      // Shot 1 starts where its scene does; its length is the shot's.
      expect(preview.params.referenceImageUrl).toBe(first.reference_image_url);
      expect(Number(preview.params.durationSeconds)).toBe(6);

      const accepted = await regenerate({ action: "accept", runId: start.json.runId });
      expect(accepted.status, accepted.text).toBe(200);
      expect(accepted.json.staleShots).toEqual([{ sceneNumber: 1, shotNumber: 2 }]);
      expect(accepted.json.staleScenes).toEqual([2]);
      expect(accepted.json.cascade).toBe(true);
      await waitForStatus(rig.sql, accepted.json.applyTaskId, ["succeeded"], 120_000);
      const [newFirst] = await shots(1);
      expect(newFirst.clip_url).toBe(preview.public_url);
      expect(newFirst.end_frame_url).toBeTruthy();
      expect(newFirst.end_frame_url).not.toBe(first.end_frame_url);

      // The cascade: shot 2 from shot 1's new last frame, accepted by itself.
      const shotRun = await waitFor(async () => {
        const [row] = await rig.sql`select * from public.asset_runs where cascade_of = ${start.json.runId}`;
        return row && row.status !== "running" && row.apply_task_id ? row : null;
      }, { timeoutMs: 120_000, what: "shot 2's cascade run to be accepted" });
      expect(shotRun.status, shotRun.error).toBe("accepted");
      expect(shotRun.target).toMatchObject({ sceneNumber: 1, shotNumber: 2 });
      const [shotPreview] = await rig.sql`select * from public.assets where id = ${shotRun.preview_asset_id}`;
      expect(shotPreview.params.referenceImageUrl).toBe(newFirst.end_frame_url);
      const body = rig.fakes.runway.created.find((b) => b.seed === shotPreview.params.seed)!;
      expect(body, "shot 2's cascade request").toBeTruthy();
      expect(addressOfSigned(String(body.promptImage))).toBe(newFirst.end_frame_url);
      await waitForStatus(rig.sql, shotRun.apply_task_id, ["succeeded"], 120_000);

      // Then scene 2, from scene 1's new last frame (its new shot 2's).
      const sceneRun = await waitFor(async () => {
        const [row] = await rig.sql`select * from public.asset_runs where cascade_of = ${shotRun.id}`;
        return row && row.status !== "running" && row.apply_task_id ? row : null;
      }, { timeoutMs: 120_000, what: "scene 2's cascade run to be accepted" });
      expect(sceneRun.status, sceneRun.error).toBe("accepted");
      expect(sceneRun.target).toMatchObject({ sceneNumber: 2 });
      await waitForStatus(rig.sql, sceneRun.apply_task_id, ["succeeded"], 120_000);

      const [, newSecond] = await shots(1);
      expect(newSecond.clip_url).not.toBe(second.clip_url);
      const sceneAfter = await scene(1);
      expect(sceneAfter.clip_url).not.toBe(sceneBefore.clip_url);
      expect(sceneAfter.end_frame_url).toBe(newSecond.end_frame_url);
      expect(Number(sceneAfter.duration_seconds)).toBe(12);
      const [sceneRunPreview] = await rig
        .sql`select * from public.assets where id = ${sceneRun.preview_asset_id}`;
      expect(sceneRunPreview.params.referenceImageUrl).toBe(sceneAfter.end_frame_url);
      expect((await scene(2)).stale).toBe(false);
      expect((await shots(1)).every((s) => !s.stale)).toBe(true);
      const [movieAfter] = await rig.sql`select video_url, status from public.movies where id = ${movieId}`;
      expect(movieAfter.status).toBe("completed");
      expect(movieAfter.video_url).not.toBe(movieBefore.video_url);

      const status = await invoke("produce-movie", { action: "status", movieId }, { token: owner.token });
      expect(status.status, status.text).toBe(200);
      expect(status.json.scenes[0].shots).toMatchObject([
        { shotNumber: 1, stale: false, status: "completed" },
        { shotNumber: 2, stale: false, status: "completed", referenceImageSource: "previous_shot" },
      ]);
    },
    420_000,
  );

  /** Starts a take of a shot of scene 1 and waits for its preview: the run's id and the preview's params. */
  async function shotPreview(shotNumber: number, prompt: string) {
    const start = await regenerate({
      action: "start",
      kind: "video",
      target: { movieId, sceneNumber: 1, shotNumber },
      draft: { prompt },
    });
    expect(start.status, start.text).toBe(202);
    const run = await waitFor(async () => {
      const [row] = await rig.sql`select * from public.asset_runs where id = ${start.json.runId}`;
      return row.status !== "running" ? row : null;
    }, { timeoutMs: 60_000, what: `shot ${shotNumber}'s preview` });
    expect(run.status, run.error).toBe("preview");
    return start.json.runId as string;
  }

  it(
    "a take of shot 2 made from shot 1's last frame before shot 1 got a new clip stays stale when accepted",
    async () => {
      const older = await shotPreview(2, "The fog parts over the water");
      const first = await shotPreview(1, "The keeper turns toward the sea");
      const accepted = await regenerate({ action: "accept", runId: first, cascade: false });
      expect(accepted.status, accepted.text).toBe(200);
      expect(accepted.json.staleShots).toEqual([{ sceneNumber: 1, shotNumber: 2 }]);
      await waitForStatus(rig.sql, accepted.json.applyTaskId, ["succeeded"], 120_000);

      const late = await regenerate({ action: "accept", runId: older, cascade: false });
      expect(late.status, late.text).toBe(200);
      // Its own answer says so, as status does (before, it listed only the shots after it).
      expect(late.json.staleShots).toEqual([{ sceneNumber: 1, shotNumber: 2 }]);
      // Before, the accept cleared the mark: shot 2 read as continuing shot 1 while it starts from a
      // frame shot 1 no longer has.
      const [newFirst, second] = await shots(1);
      const [take] = await rig.sql`select params from public.assets where id = (
      select preview_asset_id from public.asset_runs where id = ${older})`;
      expect(take.params.referenceImageUrl).not.toBe(newFirst.end_frame_url);
      expect(second.stale).toBe(true);
      const status = await invoke("produce-movie", { action: "status", movieId }, { token: owner.token });
      expect(status.json.scenes[0].shots[1]).toMatchObject({ shotNumber: 2, stale: true });
    },
    300_000,
  );

  it("shot 2 started while shot 1 has no last frame (its new clip's being extracted): 409, nothing counted", async () => {
    const [first] = await shots(1);
    const usage = async () =>
      (await rig.sql`select count(*)::int as n from public.usage_events where user_id = ${owner.id}`)[0].n;
    const runs = async () =>
      (await rig.sql`select count(*)::int as n from public.asset_runs where movie_id = ${movieId}`)[0].n;
    const before = { usage: await usage(), runs: await runs() };
    // As an accept of shot 1 leaves it until its asset.apply has extracted the new clip's frame.
    await rig.sql`update public.scene_shots set end_frame_url = null where id = ${first.id}`;
    try {
      const started = await regenerate({
        action: "start",
        kind: "video",
        target: { movieId, sceneNumber: 1, shotNumber: 2 },
      });
      // Before: 202 and a regeneration counted, then the run failed for want of the frame.
      expect(started.status, started.text).toBe(409);
      expect(started.json.error).toMatchObject({ code: "shot_frame_pending" });
      expect(started.json.error.message).toContain("shot 1 of scene 1 has no last frame yet");
      expect({ usage: await usage(), runs: await runs() }).toEqual(before);
    } finally {
      await rig
        .sql`update public.scene_shots set end_frame_url = ${first.end_frame_url} where id = ${first.id}`;
    }
  });

  it("a shot take whose previous shot's frame is cleared while Runway makes it stays a preview: its job is polled, not dropped", async () => {
    const [first] = await shots(1);
    const prompt = "The fog holds the lantern's light";
    let held = true;
    rig.fakes.clearScripts();
    rig.fakes.runway.scriptWhen((body) => body.promptText === prompt, { heldWhile: () => held });
    let run;
    try {
      const start = await regenerate({
        action: "start",
        kind: "video",
        target: { movieId, sceneNumber: 1, shotNumber: 2 },
        draft: { prompt },
      });
      expect(start.status, start.text).toBe(202);
      // Its job is in production at Runway, recorded.
      await waitFor(async () =>
        (await rig.sql`
          select 1 from public.background_task_steps s join public.asset_runs r on r.task_id = s.task_id
           where r.id = ${start.json.runId} and s.name = 'preview:video' and s.external_id is not null`)[0], {
        timeoutMs: 60_000,
        what: "shot 2's job submitted",
      });
      // Shot 1's frame goes, as an accept of shot 1 leaves it until its apply extracts the new one,
      // and the slice polling shot 2's job is killed: the next one goes on from the records.
      await rig.sql`update public.scene_shots set end_frame_url = null where id = ${first.id}`;
      await admin("workers/kill", { function: "regenerate-asset" });
      held = false;
      run = await waitFor(async () => {
        const [row] = await rig.sql`select * from public.asset_runs where id = ${start.json.runId}`;
        return row.status !== "running" ? row : null;
      }, { timeoutMs: 60_000, what: "shot 2's take" });
    } finally {
      rig.fakes.clearScripts();
      await rig
        .sql`update public.scene_shots set end_frame_url = ${first.end_frame_url} where id = ${first.id}`;
    }
    // Before: failed "shot 2 has no previous shot's last frame to start from yet", the job it had
    // paid for dropped and its cost row left open.
    expect(run.status, run.error).toBe("preview");
    const [take] = await rig.sql`select params from public.assets where id = ${run.preview_asset_id}`;
    expect(take.params.referenceImageUrl).toBe(first.end_frame_url);
    expect(rig.fakes.runway.created.filter((b) => b.promptText === prompt)).toHaveLength(1);
    const metrics = await rig.sql`
      select phase from public.movie_step_metrics where task_id = ${run.task_id} and step_name = 'preview:video'`;
    expect(metrics).toEqual([{ phase: "succeeded" }]);
  });

  /**
   * A film of this file's shape whose clips made from `heldFrame` stay in production at Runway,
   * cancelled once `ready` holds; then a take of scene 1's `shotNumber` accepted (no cascade) and
   * applied, and the film resumed with Runway released, to its end. The take's asset.
   */
  async function takeAcceptedWhileCancelled(opts: {
    title: string;
    heldFrame: string;
    ready: (film: string) => Promise<boolean>;
    shotNumber: number;
    prompt: string;
    beforeResume?: (film: string) => Promise<void>;
  }) {
    rig.fakes.clearScripts();
    rig.fakes.runway.scriptWhen((body) => String(body.promptImage ?? "").includes(opts.heldFrame), {
      phases: ["PENDING", "RUNNING"],
    });
    const user = await filmUser(rig, SHAPE, opts.title);
    const { movieId: film } = await startFilm(user, briefFor(SHAPE, opts.title));
    await waitFor(() => opts.ready(film), { timeoutMs: 120_000, what: "the film where it is cancelled" });
    const act = (fn: string, body: Record<string, unknown>) => invoke(fn, body, { token: user.token });
    expect((await act("produce-movie", { action: "cancel", movieId: film })).status).toBe(200);
    await waitFor(async () => (await movieOf(film)).status === "cancelled", { what: "the film cancelled" });

    const start = await act("regenerate-asset", {
      action: "start",
      kind: "video",
      target: { movieId: film, sceneNumber: 1, shotNumber: opts.shotNumber },
      draft: { prompt: opts.prompt },
    });
    expect(start.status, start.text).toBe(202);
    const run = await waitFor(async () => {
      const [row] = await rig.sql`select * from public.asset_runs where id = ${start.json.runId}`;
      return row.status !== "running" ? row : null;
    }, { timeoutMs: 60_000, what: `shot ${opts.shotNumber}'s take` });
    expect(run.status, run.error).toBe("preview");
    const accepted = await act("regenerate-asset", { action: "accept", runId: run.id, cascade: false });
    expect(accepted.status, accepted.text).toBe(200);
    const apply = await waitForStatus(rig.sql, accepted.json.applyTaskId, ["succeeded"], 120_000);
    await opts.beforeResume?.(film);

    rig.fakes.clearScripts();
    const resumed = await act("produce-movie", { action: "resume", movieId: film });
    expect(resumed.status, resumed.text).toBe(202);
    const done = await waitForFilm(rig.sql, film, 180_000);
    expect(done.status, done.error_message).toBe("completed");
    const [take] = await rig.sql`select * from public.assets where id = ${run.preview_asset_id}`;
    return { film, take, apply };
  }
  const movieOf = async (film: string) => (await rig.sql`select * from public.movies where id = ${film}`)[0];
  const sceneOf = async (film: string, n: number) =>
    (await rig.sql`select * from public.movie_scenes where movie_id = ${film} and scene_number = ${n}`)[0];
  const shotsOf = async (film: string) =>
    await rig.sql`
      select h.* from public.scene_shots h join public.movie_scenes s on s.id = h.scene_id
       where s.movie_id = ${film} and s.scene_number = 1 order by h.shot_number`;

  it("a shot take accepted while its film was cancelled goes into the film once it is resumed", async () => {
    // Shot 2 (made from shot 1's last frame) is in production when the film is cancelled.
    const { film, take, apply } = await takeAcceptedWhileCancelled({
      title: "Fog Held Over",
      heldFrame: "-end",
      ready: async (id) => {
        const [one, two] = await shotsOf(id);
        return one?.status === "completed" && !!one.end_frame_url && two?.status === "generating";
      },
      shotNumber: 1,
      prompt: "The keeper climbs the stair with the lantern",
    });
    // Before, the resumed chain joined the scene from the shot 1 it had made itself (its recorded
    // steps), and made shot 2 from that clip's last frame: the accepted take was in no film.
    // No scene had its video when the film was cancelled: nothing to reassemble. Before, the apply
    // reassembled anyway, its film.assemble failed ("No videos to assemble"), and it said it had.
    expect(apply.result).toEqual(expect.objectContaining({
      reassembled: false,
      notReassembled: `Movie ${film} has nothing to assemble: none of its 2 scenes has a video yet`,
    }));
    const [one, two] = await shotsOf(film);
    expect(one.clip_url).toBe(take.public_url);
    expect(two.reference_image_url).toBe(one.end_frame_url);
    expect(two.stale).toBe(false);
    const [join] = await rig.sql`
      select r.payload from public.movie_step_metrics m
        join public.background_tasks t on t.id = m.task_id and t.kind = 'film.chain'
        join public.background_tasks r on r.id::text = m.external_id
       where m.movie_id = ${film} and m.step_name = 'scene-1:join-shots' and m.phase = 'succeeded'`;
    expect(join.payload.timeline.clips.map((c: { url: string }) => addressOfSigned(c.url))).toEqual([
      addressOfSigned(take.public_url),
      addressOfSigned(two.clip_url),
    ]);
  }, 420_000);

  it(
    "a take accepted after the cancelled chain made the shot, before it saved it, is the shot the resumed film keeps",
    async () => {
      rig.fakes.clearScripts();
      // Render workers paused: the chain makes shot 1's clip (its `video` step recorded) and then
      // waits for the render job that extracts its last frame, so the cancel lands between the
      // clip and the step that saves it on the shot.
      await pauseRenderWorkers();
      try {
        const title = "Fog Saved Late";
        const user = await filmUser(rig, SHAPE, title);
        const act = (fn: string, body: Record<string, unknown>) => invoke(fn, body, { token: user.token });
        const { movieId: film } = await startFilm(user, briefFor(SHAPE, title));
        await waitFor(async () =>
          (await rig.sql`
            select 1 from public.background_task_steps s join public.background_tasks t on t.id = s.task_id
             where t.kind = 'film.chain' and t.payload ->> 'movieId' = ${film}
               and s.name = 'scene-1:shot-1:video' and s.status = 'completed'`).length === 1, {
          timeoutMs: 120_000,
          what: "shot 1's clip made, its last frame not yet extracted",
        });
        expect((await act("produce-movie", { action: "cancel", movieId: film })).status).toBe(200);
        await waitFor(async () => (await movieOf(film)).status === "cancelled", {
          what: "the film cancelled",
        });
        const start = await act("regenerate-asset", {
          action: "start",
          kind: "video",
          target: { movieId: film, sceneNumber: 1, shotNumber: 1 },
          draft: { prompt: "The keeper waits below the stair" },
        });
        expect(start.status, start.text).toBe(202);
        const run = await waitFor(async () => {
          const [row] = await rig.sql`select * from public.asset_runs where id = ${start.json.runId}`;
          return row.status !== "running" ? row : null;
        }, { timeoutMs: 60_000, what: "shot 1's take" });
        expect(run.status, run.error).toBe("preview");
        const accepted = await act("regenerate-asset", { action: "accept", runId: run.id, cascade: false });
        expect(accepted.status, accepted.text).toBe(200);
        await admin("render-workers/resume", {});
        await waitForStatus(rig.sql, accepted.json.applyTaskId, ["succeeded"], 120_000);
        const resumed = await act("produce-movie", { action: "resume", movieId: film });
        expect(resumed.status, resumed.text).toBe(202);
        const done = await waitForFilm(rig.sql, film, 180_000);
        expect(done.status, done.error_message).toBe("completed");
        // Before, the resumed chain saved the clip it had made over the take: the take was
        // superseded by it, in no film, and left for retention to delete.
        const [take] = await rig.sql`select * from public.assets where id = ${run.preview_asset_id}`;
        const [one] = await shotsOf(film);
        expect(one.clip_url).toBe(take.public_url);
        expect(take.state).toBe("current");
      } finally {
        await admin("render-workers/resume", {});
      }
    },
    420_000,
  );

  it(
    "a cascade's take accepted while its film was cancelled stays in the resumed film, not paid for again",
    async () => {
      rig.fakes.clearScripts();
      // Shot 2 (made from shot 1's last frame) is in production when the film is cancelled.
      rig.fakes.runway.scriptWhen((body) => String(body.promptImage ?? "").includes("-end"), {
        phases: ["PENDING", "RUNNING"],
      });
      const title = "Fog Cascaded Over";
      const user = await filmUser(rig, SHAPE, title);
      const { movieId: film } = await startFilm(user, briefFor(SHAPE, title));
      await waitFor(async () => {
        const [one, two] = await shotsOf(film);
        return one?.status === "completed" && !!one.end_frame_url && two?.status === "generating";
      }, { timeoutMs: 120_000, what: "shot 2 in production" });
      const act = (fn: string, body: Record<string, unknown>) => invoke(fn, body, { token: user.token });
      expect((await act("produce-movie", { action: "cancel", movieId: film })).status).toBe(200);
      await waitFor(async () => (await movieOf(film)).status === "cancelled", { what: "the film cancelled" });
      rig.fakes.clearScripts();

      // A new shot 1, accepted with its cascade: shot 2 made again from its new last frame, accepted.
      const start = await act("regenerate-asset", {
        action: "start",
        kind: "video",
        target: { movieId: film, sceneNumber: 1, shotNumber: 1 },
        draft: { prompt: "The keeper hangs the lantern by the door" },
      });
      expect(start.status, start.text).toBe(202);
      await waitFor(async () => {
        const [row] = await rig.sql`select status from public.asset_runs where id = ${start.json.runId}`;
        return row.status === "preview" || null;
      }, { timeoutMs: 60_000, what: "shot 1's take" });
      const accepted = await act("regenerate-asset", { action: "accept", runId: start.json.runId });
      expect(accepted.status, accepted.text).toBe(200);
      const cascaded = await waitFor(async () => {
        const [row] = await rig.sql`select * from public.asset_runs where cascade_of = ${start.json.runId}`;
        return row?.status === "accepted" ? row : null;
      }, { timeoutMs: 120_000, what: "shot 2's cascade take accepted" });
      // Every run and apply of the film settled before the resume.
      await waitFor(async () => {
        const [open] = await rig.sql`
        select (select count(*) from public.asset_runs where movie_id = ${film} and status = 'running')::int +
               (select count(*) from public.background_tasks
                 where user_id = ${user.id} and kind like 'asset.%' and kind <> 'asset.cleanup'
                   and status in ('queued', 'running', 'waiting'))::int as n`;
        return open.n === 0 || null;
      }, { timeoutMs: 180_000, what: "the film's runs and applies to end" });
      const [one, two] = await shotsOf(film);
      const [take] = await rig
        .sql`select public_url from public.assets where id = ${cascaded.preview_asset_id}`;
      expect(two.clip_url).toBe(take.public_url);
      const madeBefore = rig.fakes.runway.created.length;

      const resumed = await act("produce-movie", { action: "resume", movieId: film });
      expect(resumed.status, resumed.text).toBe(202);
      const done = await waitForFilm(rig.sql, film, 180_000);
      expect(done.status, done.error_message).toBe("completed");
      // Before, the resumed chain took the take for one made from another frame (the shot kept the
      // frame the chain had started it from): shot 2 was paid for again and the take replaced.
      const again = rig.fakes.runway.created.slice(madeBefore).filter((body) =>
        addressOfSigned(String(body.promptImage ?? "")) === one.end_frame_url
      );
      expect(again).toEqual([]);
      const [, after] = await shotsOf(film);
      expect(after.clip_url).toBe(take.public_url);
    },
    600_000,
  );

  it(
    "a shot's join that ends after the scene's shots changed again does not become the scene's clip",
    async () => {
      const run = await shotPreview(1, "The keeper climbs the stair");
      const [before] = await rig
        .sql`select clip_url from public.movie_scenes where movie_id = ${movieId} and scene_number = 1`;
      const accepted = await regenerate({ action: "accept", runId: run, cascade: false });
      expect(accepted.status, accepted.text).toBe(200);
      const apply = accepted.json.applyTaskId as string;
      // The scene's row held from before the apply lists the shots it joins until shot 2 changed
      // after that (as an apply of shot 2 accepted next would change it, then join the shots as they
      // are then and write its own clip): this apply's join ends after the change.
      const [, second] = await shots(1);
      const elsewhere = String(second.clip_url).replace(/[^/?]+(\?|$)/, "newer-take.mp4$1");
      const holder = await rig.sql.reserve();
      try {
        await holder`begin`;
        await holder`select id from public.movie_scenes where movie_id = ${movieId} and scene_number = 1 for update`;
        await waitFor(
          async () =>
            (await rig.sql`
            select 1 from public.background_task_steps where task_id = ${apply} and name = 'shots:listed'`)
              .length === 1,
          { timeoutMs: 120_000, what: "the apply's list of shots to join" },
        );
        await holder`update public.scene_shots set clip_url = ${elsewhere} where id = ${second.id}`;
        await holder`commit`;
      } finally {
        holder.release();
      }
      await waitForStatus(rig.sql, apply, ["succeeded"], 120_000);
      // Before: the join of the shots as they were became the scene's clip, the newer take left out.
      const [after] = await rig
        .sql`select clip_url from public.movie_scenes where movie_id = ${movieId} and scene_number = 1`;
      expect(after.clip_url).toBe(before.clip_url);
      await rig.sql`update public.scene_shots set clip_url = ${second.clip_url} where id = ${second.id}`;
    },
    300_000,
  );

  it(
    "a shot accepted whose scene's shots cannot be joined: its apply fails, saying the film does not show it",
    async () => {
      const [, second] = await shots(1);
      const lost = String(second.clip_url).replace(/[^/?]+(\?|$)/, "lost-shot.mp4$1");
      await rig.sql`update public.scene_shots set clip_url = ${lost} where id = ${second.id}`;
      const run = await shotPreview(1, "The keeper counts the steps");
      const accepted = await regenerate({ action: "accept", runId: run, cascade: false });
      expect(accepted.status, accepted.text).toBe(200);
      // Before: succeeded, "reassembled", with the scene's old clip in the film.
      const task = await waitForStatus(rig.sql, accepted.json.applyTaskId, ["failed"], 120_000);
      expect(task.last_error).toMatchObject({ code: "shots_not_joined" });
      expect(task.last_error.message).toContain("the film does not show it");
      await rig.sql`update public.scene_shots set clip_url = ${second.clip_url} where id = ${second.id}`;
    },
    300_000,
  );

  it(
    "an accept's cascade that comes after its shot was accepted again starts nothing: the newer accept decides",
    async () => {
      const older = await shotPreview(1, "The keeper sets the lantern down");
      const first = await regenerate({ action: "accept", runId: older, cascade: false });
      expect(first.status, first.text).toBe(200);
      await waitForStatus(rig.sql, first.json.applyTaskId, ["succeeded"], 120_000);
      const newer = await shotPreview(1, "The keeper lets the lantern swing");
      const second = await regenerate({ action: "accept", runId: newer, cascade: false });
      expect(second.status, second.text).toBe(200);
      await waitForStatus(rig.sql, second.json.applyTaskId, ["succeeded"], 120_000);
      expect((await shots(1))[1].stale).toBe(true);
      // The older accept's apply, with a cascade, as it runs when its slices come late (killed
      // workers, a queue of renders): after the newer accept, which asked for none.
      const [late] = await rig.sql`
        select id from engine.enqueue_task(p_user_id => ${owner.id}, p_kind => 'asset.apply',
                                           p_function => 'regenerate-asset', p_payload => ${
        rig.sql.json({
          movieId,
          sceneNumber: 1,
          shotNumber: 1,
          newClip: true,
          runId: older,
          cascade: [{ sceneNumber: 1, shotNumber: 2 }],
        })
      })`;
      const task = await waitForStatus(rig.sql, late.id, ["succeeded", "failed"], 180_000);
      expect(task.status, JSON.stringify(task.last_error)).toBe("succeeded");
      const [cascadeStep] = await rig.sql`
        select 1 from public.background_task_steps where task_id = ${late.id} and name = 'cascade:1:2'`;
      expect(cascadeStep, "the cascade step ran").toBeTruthy();
      // Before: a paid run of shot 2 from the newer take's frame, started for the older accept
      // (or, with that frame still being extracted, a run failed for want of it).
      expect(await rig.sql`select id from public.asset_runs where cascade_of = ${older}`).toHaveLength(0);
      expect((await shots(1))[1].stale).toBe(true);
    },
    420_000,
  );

  it(
    "a continuation made again from its scene's new last frame when a take was accepted while the film was cancelled",
    async () => {
      let oldFrame: string | null = null;
      let newFrame: string | null = null;
      // Scene 2 (made from scene 1's last frame, its shot 2's) is in production when the film is
      // cancelled; the take is a new last shot for scene 1, so a new last frame for the scene.
      const { film } = await takeAcceptedWhileCancelled({
        title: "Fog Picked Up Again",
        heldFrame: "scene-1-shot-2",
        ready: async (id) => {
          const [first, second] = [await sceneOf(id, 1), await sceneOf(id, 2)];
          oldFrame = first?.end_frame_url ?? null;
          return first?.status === "completed" && second?.status === "generating";
        },
        shotNumber: 2,
        prompt: "The lantern goes dark on the landing",
        beforeResume: async (id) => {
          newFrame = (await sceneOf(id, 1)).end_frame_url;
        },
      });
      expect(newFrame).toBeTruthy();
      expect(newFrame).not.toBe(oldFrame);
      // Before, the resumed chain made scene 2 from the frame it had recorded, one scene 1 no longer has.
      const second = await sceneOf(film, 2);
      expect(second.reference_image_url).toBe(newFrame);
      expect(second.stale).toBe(false);
      const [shot] = await rig
        .sql`select reference_image_url from public.scene_shots where scene_id = ${second.id}`;
      expect(shot.reference_image_url).toBe(newFrame);
      const made = rig.fakes.runway.created.filter((b) =>
        addressOfSigned(String(b.promptImage ?? "")) === newFrame
      );
      expect(made.length).toBeGreaterThan(0);
    },
    420_000,
  );
});
