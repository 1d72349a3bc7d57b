/**
 * Continuity after a regenerated clip (docs/regenerate-asset.md, "New takes and continuity"), on
 * the contract fakes (film rig), a 3-scene film where scene 3 continues from scene 2's last frame:
 * accepting a new clip for scene 2 regenerates scene 3 from the new end frame (cascade, the
 * default) — a paid take whose request starts from that frame, accepted by itself, scene 3 not
 * stale after; with cascade: false scene 3 is reported stale until it gets a new accepted clip.
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
import { invoke, type TestUser, waitFor, waitForStatus } from "../support/stack.ts";
import { addressOfSigned } from "../support/stack-storage.ts";

const SHAPE = { scenes: 3, chains: [[2, 3]] };
const TITLE = "Fog Continuity";

let rig: FilmRig;
let owner: TestUser;
let movieId: string;

const regenerate = (body: Record<string, unknown>) =>
  invoke("regenerate-asset", body, { token: owner.token });
const scene = async (n: number) =>
  (await rig.sql`select * from public.movie_scenes where movie_id = ${movieId} and scene_number = ${n}`)[0];

/** A preview for scene `n` with `draft`; returns the run id. */
async function previewOf(n: number, draft: Record<string, unknown>) {
  const start = await regenerate({
    action: "start",
    kind: "video",
    target: { movieId, sceneNumber: n },
    draft,
  });
  expect(start.status, start.text).toBe(202);
  const run = await waitFor(async () => {
    const [row] = await rig.sql`select * from public.asset_runs where id = ${start.json.runId}`;
    return row.status !== "running" ? row : null;
  }, { timeoutMs: 60_000, what: `scene ${n}'s preview` });
  expect(run.status, run.error).toBe("preview");
  return start.json.runId as string;
}

beforeAll(async () => {
  rig = await startFilmRig({ latencies: QUICK_LATENCIES });
  owner = await filmUser(rig, SHAPE, TITLE);
  ({ movieId } = await startFilm(owner, briefFor(SHAPE, TITLE)));
  const movie = await waitForFilm(rig.sql, movieId, 180_000);
  expect(movie.status, movie.error_message).toBe("completed");
  expect((await scene(3)).continues_from).toBe(2);
  expect((await scene(3)).reference_image_source).toBe("previous_frame");
}, 300_000);

afterAll(async () => {
  await rig?.close();
});

describe("a new clip for a scene another continues from", () => {
  it(
    "with cascade (the default) regenerates the continuing scene from the new end frame; it is not stale after",
    async () => {
      const before = await scene(2);
      const runId = await previewOf(2, { prompt: "The pilot swings the lantern toward the quay" });
      const paidBefore = rig.fakes.submissions().runway.total;
      const accepted = await regenerate({ action: "accept", runId });
      expect(accepted.status, accepted.text).toBe(200);
      expect(accepted.json.staleScenes).toEqual([3]);
      expect(accepted.json.cascade).toBe(true);
      await waitForStatus(rig.sql, accepted.json.applyTaskId, ["succeeded"], 120_000);

      const after = await scene(2);
      expect(after.end_frame_url).toBeTruthy();
      expect(after.end_frame_url).not.toBe(before.end_frame_url);

      const cascade = await waitFor(async () => {
        const [row] = await rig.sql`select * from public.asset_runs where cascade_of = ${runId}`;
        return row && row.status !== "running" && row.apply_task_id ? row : null;
      }, { timeoutMs: 120_000, what: "scene 3's cascade run to be accepted" });
      expect(cascade.status, cascade.error).toBe("accepted");
      expect(cascade.target.sceneNumber).toBe(3);
      await waitForStatus(rig.sql, cascade.apply_task_id, ["succeeded"], 120_000);

      // The cascade paid for a new take, and its request started from scene 2's new last frame.
      const [preview] = await rig.sql`select * from public.assets where id = ${cascade.preview_asset_id}`;
      expect(preview.params.cachedFrom).toBeUndefined();
      expect(preview.params.referenceImageUrl).toBe(after.end_frame_url);
      const body = rig.fakes.runway.created.find((b) => b.seed === preview.params.seed)!;
      expect(body, "scene 3's cascade request").toBeTruthy();
      expect(addressOfSigned(String(body.promptImage))).toBe(after.end_frame_url);
      expect(rig.fakes.submissions().runway.total).toBe(paidBefore + 1);

      const third = await scene(3);
      expect(third.stale).toBe(false);
      expect(third.clip_url).toBe(preview.public_url);
      const status = await invoke("produce-movie", { action: "status", movieId }, { token: owner.token });
      expect(status.status, status.text).toBe(200);
      const scenes = status.json.scenes as { scene_number: number; stale: boolean }[];
      expect(scenes.map((s) => s.stale)).toEqual([false, false, false]);
    },
    300_000,
  );

  it("with cascade: false reports the continuing scene stale until it gets a new accepted clip", async () => {
    const runId = await previewOf(2, { prompt: "The pilot drops the lantern into the water" });
    const accepted = await regenerate({ action: "accept", runId, cascade: false });
    expect(accepted.status, accepted.text).toBe(200);
    expect(accepted.json.staleScenes).toEqual([3]);
    expect(accepted.json.cascade).toBe(false);
    await waitForStatus(rig.sql, accepted.json.applyTaskId, ["succeeded"], 120_000);
    expect(await rig.sql`select id from public.asset_runs where cascade_of = ${runId}`).toHaveLength(0);

    expect((await scene(3)).stale).toBe(true);
    const runStatus = await regenerate({ action: "status", runId });
    expect(runStatus.json.stale).toBe(false);
    expect(runStatus.json.staleScenes).toEqual([3]);
    const film = await invoke("produce-movie", { action: "status", movieId }, { token: owner.token });
    const scenes = film.json.scenes as { scene_number: number; stale: boolean }[];
    expect(scenes.filter((s) => s.stale).map((s) => s.scene_number)).toEqual([3]);

    // Scene 3 regenerated by hand: from scene 2's newest last frame, and no longer stale once accepted.
    const frame = (await scene(2)).end_frame_url;
    const own = await previewOf(3, {});
    const ownStatus = await regenerate({ action: "status", runId: own });
    expect(ownStatus.json.stale).toBe(true);
    expect(ownStatus.json.preview.params.referenceImageUrl).toBe(frame);
    const mine = await regenerate({ action: "accept", runId: own });
    expect(mine.status, mine.text).toBe(200);
    expect(mine.json.staleScenes).toEqual([]);
    await waitForStatus(rig.sql, mine.json.applyTaskId, ["succeeded"], 120_000);
    expect((await scene(3)).stale).toBe(false);
    expect((await regenerate({ action: "status", runId: own })).json.stale).toBe(false);
  }, 300_000);

  it("refuses a cascade that is not a boolean, accepting nothing", async () => {
    const runId = await previewOf(1, { prompt: "Fog rolls over the breakwater" });
    const answer = await regenerate({ action: "accept", runId, cascade: "yes" });
    expect(answer.status).toBe(400);
    expect(answer.text).toContain("cascade");
    const [run] = await rig.sql`select status from public.asset_runs where id = ${runId}`;
    expect(run.status).toBe("preview");
  }, 120_000);
});
