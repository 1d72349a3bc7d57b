/**
 * Lip sync in the film pipeline: a 3-scene film whose owner registered sync.so (its contract
 * fake), scenes 1 and 3 with dialogue, scene 2 without. The dialogue_track render op is new, so a
 * render worker running this checkout's code runs in this process; the stack's own worker claims
 * render tasks too and must have been restarted since dialogue_track existed, or it fails the
 * tracks it happens to claim (and the scene falls back to the plain mix: this test then fails).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runRenderJob } from "../../shared/render/render-job.ts";
import { createWorkerLoop } from "../../shared/worker/worker-loop.ts";
import type { FilmShape } from "../support/film-script.ts";
import {
  briefFor,
  type FilmRecord,
  type FilmRig,
  filmUser,
  QUICK_LATENCIES,
  readFilm,
  startFilm,
  startFilmRig,
  waitForFilm,
} from "../support/film.ts";
import { download, durationOf, maxVolumeDb } from "../support/render-media.ts";
import { stackEnv } from "../support/stack.ts";
import { addressOfSigned, stackStorage } from "../support/stack-storage.ts";

const SHAPE: FilmShape = {
  scenes: 3,
  chains: [],
  clipSeconds: (n) => (n === 2 ? 2 : 3),
  linesPerScene: (n) => (n === 2 ? 0 : n === 1 ? 1 : 2),
};
const WITH_DIALOGUE = [1, 3];
const TITLE = "Lips in the Fog";
const dir = mkdtempSync(join(tmpdir(), "reelforge-lipsync-"));

let rig: FilmRig;
let film: FilmRecord;
let stopWorker: () => Promise<void>;

beforeAll(async () => {
  rig = await startFilmRig({ latencies: QUICK_LATENCIES });
  const loop = createWorkerLoop({
    sql: rig.sql,
    storage: stackStorage(),
    handlers: { render: runRenderJob },
    concurrency: 3,
    pollMs: 25,
    log: () => {},
  });
  loop.start();
  stopWorker = () => loop.stop();
  const owner = await filmUser(rig, SHAPE, TITLE);
  const { movieId } = await startFilm(owner, briefFor(SHAPE, TITLE));
  await waitForFilm(rig.sql, movieId, 180_000);
  film = await readFilm(rig.sql, movieId);
}, 240_000);

afterAll(async () => {
  await stopWorker?.();
  await rig?.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * This film's generations: the gateway's provider URLs are stack-wide, so another test's film
 * running meanwhile may reach this fake too.
 */
const ours = () =>
  rig.fakes.sync.bodies.filter((b) =>
    b.input.some((i: { url: string }) => i.url.includes(`/${film.movie.id}/`))
  );

const storagePrefix = () => `${stackEnv().API_URL}/storage/v1/object/public/media/films/`;

describe("a film whose owner configured a lipsync provider", () => {
  it("completes", () => {
    expect(film.movie.status, film.movie.error_message).toBe("completed");
    expect(film.scenes.map((s) => s.status)).toEqual(["completed", "completed", "completed"]);
  });

  it("sends sync.so exactly one generation per scene with dialogue: its clip and its dialogue track", () => {
    const bodies = ours();
    const scenes = film.scenes.filter((s) => WITH_DIALOGUE.includes(s.scene_number));
    expect(bodies).toHaveLength(WITH_DIALOGUE.length);
    // Signed for the provider (the media bucket is private), made from the scenes' own addresses.
    const videos = bodies.map((b) => b.input.find((i: { type: string }) => i.type === "video").url);
    for (const url of videos) expect(url).toMatch(/\/storage\/v1\/object\/sign\/media\/.+\?token=/);
    expect(videos.map(addressOfSigned).sort()).toEqual(scenes.map((s) => s.clip_url).sort());
    for (const body of bodies) {
      expect(body.input.find((i: { type: string }) => i.type === "audio").url).toMatch(
        /\/scene-\d+-dialogue-[0-9a-f]{8}\.m4a\?token=/,
      );
    }
  });

  it("gives each dialogue track the clip's exact length", async () => {
    for (const [i, body] of ours().entries()) {
      const video = await download(
        body.input.find((x: { type: string }) => x.type === "video").url,
        join(dir, `clip-${i}.mp4`),
      );
      const audio = await download(
        body.input.find((x: { type: string }) => x.type === "audio").url,
        join(dir, `track-${i}.m4a`),
      );
      expect(Math.abs(durationOf(audio) - durationOf(video))).toBeLessThanOrEqual(1 / 24);
    }
  });

  it("points a synced scene's video_url at the synced file in our Storage, and leaves the scene without dialogue plainly mixed", () => {
    for (const scene of film.scenes) {
      if (WITH_DIALOGUE.includes(scene.scene_number)) {
        expect(scene.lipsync_error, `scene ${scene.scene_number}`).toBeNull();
        expect(scene.video_url).toMatch(
          new RegExp(`^${storagePrefix()}.+/scene-${scene.scene_number}-lipsync-[0-9a-f]{8}\\.mp4$`),
        );
        expect(scene.lipsync_url).toBe(scene.video_url);
        expect(scene.mix_status).toBe("completed");
      } else {
        expect(scene.lipsync_url).toBeNull();
        expect(scene.video_url).not.toMatch(/lipsync/);
      }
    }
  });

  it("gives each synced scene its lines as its sound", async () => {
    for (const scene of film.scenes.filter((s) => WITH_DIALOGUE.includes(s.scene_number))) {
      if (!scene.video_url) throw new Error(`scene ${scene.scene_number} has no video`);
      const file = await download(scene.video_url, join(dir, `synced-${scene.scene_number}.mp4`));
      // The clips the video fake makes are silent: any sound here is the dialogue track's.
      expect(maxVolumeDb(file), `scene ${scene.scene_number}`).toBeGreaterThan(-30);
    }
  });

  it("records the dialogue track and the lip sync as paid calls, each from intent to succeeded", () => {
    for (const n of WITH_DIALOGUE) {
      const calls = film.metrics.filter((m) => m.scene_number === n && m.step_name.startsWith("lipsync:"));
      expect(calls.map((m) => [m.step_name, m.provider, m.phase]).sort()).toEqual([
        ["lipsync:dialogue-track", "worker", "succeeded"],
        ["lipsync:sync", "sync", "succeeded"],
      ]);
      expect(calls.every((m) => m.external_id)).toBe(true);
    }
    expect(film.metrics.filter((m) => m.scene_number === 2 && m.step_name.startsWith("lipsync:"))).toEqual(
      [],
    );
  });

  it("assembles synced clips without placing their lines again, into a film that plays for the expected length", async () => {
    const metric = film.metrics.find((m) => m.step_name === "assemble_movie:render");
    const [render] = await rig.sql`select payload from public.background_tasks where id = ${
      metric!.external_id
    }`;
    const timeline = render.payload.timeline;
    const byScene = new Map(film.scenes.map((s) => [s.scene_number, s]));
    expect(timeline.clips.map((c: { url: string }) => c.url)).toEqual([
      byScene.get(1)!.video_url,
      byScene.get(2)!.clip_url,
      byScene.get(3)!.video_url,
    ]);
    // Scene 2, the only one whose lines would be placed, has none: no line plays twice.
    expect(timeline.dialogue).toEqual([]);
    // Their lines still duck the music: one speech window per line of scenes 1 and 3.
    expect(film.movie.metadata.music_url).toMatch(/^http/);
    expect(timeline.speech).toHaveLength(
      film.audio.filter((l) => WITH_DIALOGUE.includes(l.scene_number)).length,
    );
    // 3 + 2 + 3 s, minus a 1 s fade (dusk → night) and a 0.5 s dissolve (lighthouse → market).
    const file = await download(film.movie.video_url, join(dir, "film.mp4"));
    expect(Math.abs(durationOf(file) - 6.5)).toBeLessThanOrEqual(1 / 24);
    const streams = execFileSync("ffprobe", [
      "-v",
      "error",
      "-show_entries",
      "stream=codec_type",
      "-of",
      "csv=p=0",
      file,
    ]).toString().trim().split("\n");
    expect(streams.sort()).toEqual(["audio", "video"]);
  });
});

describe("a lip sync that comes back without sound", () => {
  const SILENT_SHAPE: FilmShape = { scenes: 1, chains: [], clipSeconds: () => 3, linesPerScene: () => 1 };
  const SILENT_TITLE = "The Mute Take";
  let silent: FilmRecord;

  beforeAll(async () => {
    const owner = await filmUser(rig, SILENT_SHAPE, SILENT_TITLE);
    const { movieId } = await startFilm(owner, briefFor(SILENT_SHAPE, SILENT_TITLE));
    // Its generation answers with the input clip unchanged: no audio stream.
    rig.fakes.sync.scriptWhen(
      (b) => b.input.some((i: { url: string }) => i.url.includes(`/${movieId}/scene-1-dialogue-`)),
      { silent: true },
    );
    await waitForFilm(rig.sql, movieId, 180_000);
    silent = await readFilm(rig.sql, movieId);
  }, 240_000);

  it("is refused with the reason, and the scene gets the plain mix, which has its line", async () => {
    expect(silent.movie.status, silent.movie.error_message).toBe("completed");
    const [muted] = silent.scenes;
    expect(muted.lipsync_error).toBe("lip sync failed: no_audio: the synced clip has no audio stream");
    expect(muted.lipsync_url).toBeNull();
    expect(muted.video_url).toMatch(/scene-1-mixed-[0-9a-f]{8}\.mp4$/);
    expect(muted.mix_status).toBe("completed");
    if (!muted.video_url) throw new Error("the scene has no video");
    expect(maxVolumeDb(await download(muted.video_url, join(dir, "muted-mix.mp4")))).toBeGreaterThan(-30);
    const sync = silent.metrics.find((m) => m.step_name === "lipsync:sync");
    expect(sync?.phase).toBe("succeeded");
  });
});
