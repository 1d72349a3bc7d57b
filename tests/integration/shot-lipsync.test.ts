/**
 * Lip sync per shot (docs/film-pipeline.md, "Shots"): a scene of 16 s cut into two shots of 8 s,
 * both its lines spoken in the first. Only that shot goes to sync.so (one generation, the shot's
 * own clip and a dialogue track of its length), the second shot is not paid for, and the scene's
 * synced clip is both parts joined back: 16 s, its sound the lines.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
import { addressOfSigned } from "../support/stack-storage.ts";

const SHAPE: FilmShape = {
  scenes: 2,
  chains: [],
  clipSeconds: (n) => (n === 1 ? 16 : 3),
  linesPerScene: (n) => (n === 1 ? 2 : 0),
};
const TITLE = "Two Shots, One Voice";
const dir = mkdtempSync(join(tmpdir(), "reelforge-shot-lipsync-"));

let rig: FilmRig;
let film: FilmRecord;
let shots: Record<string, unknown>[];

beforeAll(async () => {
  rig = await startFilmRig({ latencies: QUICK_LATENCIES });
  const owner = await filmUser(rig, SHAPE, TITLE);
  const { movieId } = await startFilm(owner, briefFor(SHAPE, TITLE));
  await waitForFilm(rig.sql, movieId, 180_000);
  film = await readFilm(rig.sql, movieId);
  shots = await rig.sql`
    select h.* from public.scene_shots h join public.movie_scenes s on s.id = h.scene_id
     where s.movie_id = ${movieId} and s.scene_number = 1 order by h.shot_number`;
}, 240_000);

afterAll(async () => {
  await rig?.close();
  rmSync(dir, { recursive: true, force: true });
});

const ours = () =>
  rig.fakes.sync.bodies.filter((b) =>
    b.input.some((i: { url: string }) => i.url.includes(`/${film.movie.id}/`))
  );

describe("a scene cut into shots, lip-synced", () => {
  it("is two shots of 8 s, its lines in the first", () => {
    expect(film.movie.status, film.movie.error_message).toBe("completed");
    expect(shots.map((s) => Number(s.duration_seconds))).toEqual([8, 8]);
    const lines = film.audio.filter((l) => l.scene_number === 1);
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(Number(line.start_seconds) + Number(line.duration_seconds)).toBeLessThan(8);
    }
  });

  it("sends only the shot that carries the lines to sync.so, with a track of the shot's length", async () => {
    const bodies = ours();
    expect(bodies).toHaveLength(1);
    const video = bodies[0].input.find((i: { type: string }) => i.type === "video").url;
    expect(addressOfSigned(video)).toBe(shots[0].clip_url);
    const audio = bodies[0].input.find((i: { type: string }) => i.type === "audio").url;
    const track = durationOf(await download(audio, join(dir, "track.m4a")));
    expect(Math.abs(track - 8)).toBeLessThanOrEqual(1 / 24);
    const calls = film.metrics.filter((m) => m.scene_number === 1 && m.step_name.startsWith("lipsync:"));
    expect(calls.map((m) => [m.step_name, m.phase]).sort()).toEqual([
      ["lipsync:part-1:dialogue-track", "succeeded"],
      ["lipsync:part-1:sync", "succeeded"],
    ]);
  });

  it("joins the synced shot and the other back into the scene's clip, its sound the lines", async () => {
    const scene = film.scenes.find((s) => s.scene_number === 1)!;
    expect(scene.lipsync_error).toBeNull();
    expect(scene.lipsync_url).toBe(scene.video_url);
    expect(scene.video_url).toMatch(/scene-1-synced-[0-9a-f]{8}-shots\.mp4$/);
    const file = await download(scene.video_url!, join(dir, "scene-1.mp4"));
    expect(Math.abs(durationOf(file) - 16)).toBeLessThanOrEqual(0.1);
    const streams = execFileSync("ffprobe", [
      "-v",
      "error",
      "-show_entries",
      "stream=codec_type",
      "-of",
      "csv=p=0",
      file,
    ])
      .toString().trim().split("\n");
    expect(streams.sort()).toEqual(["audio", "video"]);
    // The shots' own clips are silent: the sound is the synced shot's, its lines.
    expect(maxVolumeDb(file)).toBeGreaterThan(-30);
  });
});
