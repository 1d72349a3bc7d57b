/**
 * Content-hash caches on the real pipeline: the same brief filmed twice by one user answers the
 * LLM questions from content_cache, every line from audio_cache and every clip whose inputs
 * repeat from generated_videos — zero paid submissions for them at the contract fakes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findCachedVideo, markVideoRegenerated } from "../../shared/caches/asset-cache.ts";
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
import { asUser, createUser, type TestUser } from "../support/stack.ts";

// Scene 3 continues scene 2: its reference is the film's own end frame, so only its clip is new.
const SHAPE = { scenes: 4, chains: [[2, 3]] };
const TITLE = "The Same Night Twice";

let rig: FilmRig;
let owner: TestUser;
let first: FilmRecord;
let second: FilmRecord;
let secondPaid: ReturnType<FilmRig["fakes"]["submissions"]>;

async function film() {
  const { movieId } = await startFilm(owner, briefFor(SHAPE, TITLE));
  await waitForFilm(rig.sql, movieId, 180_000);
  await rig.checkEnvIntact();
  return await readFilm(rig.sql, movieId);
}

beforeAll(async () => {
  rig = await startFilmRig({ latencies: QUICK_LATENCIES });
  owner = await filmUser(rig, SHAPE, TITLE);
  first = await film();
  rig.fakes.resetCounters();
  second = await film();
  secondPaid = rig.fakes.submissions();
}, 400_000);

afterAll(async () => {
  await rig?.close();
});

describe("the same brief filmed twice by one user", () => {
  it("completes both films", () => {
    expect(first.movie.status, first.movie.error_message).toBe("completed");
    expect(second.movie.status, second.movie.error_message).toBe("completed");
  });

  it("asks the LLM nothing and voices no line the second time", () => {
    expect(secondPaid.openai.total).toBe(0);
    expect(secondPaid.elevenlabs.total).toBe(0);
    expect(second.audio.map((a) => a.audio_url)).toEqual(first.audio.map((a) => a.audio_url));
    expect(second.audio.every((a) => a.status === "completed")).toBe(true);
  });

  it("pays only for the clip whose reference frame is new", () => {
    const continuations = second.scenes.filter((s) => s.is_continuation).length;
    expect(continuations).toBe(1);
    expect(secondPaid.runway.total).toBe(continuations);
    for (const scene of second.scenes.filter((s) => !s.is_continuation)) {
      expect(scene.clip_url).toBe(first.scenes.find((f) => f.scene_number === scene.scene_number)!.clip_url);
    }
  });

  it("counts the reuse on the cache rows", async () => {
    const audio = await rig.sql`select use_count from public.audio_cache where user_id = ${owner.id}`;
    expect(audio).toHaveLength(first.audio.length);
    expect(audio.every((r) => r.use_count === 2)).toBe(true);
    const llm = await rig.sql`select use_count from public.content_cache where user_id = ${owner.id}`;
    expect(llm.map((r) => r.use_count)).toEqual([2, 2, 2]);
    const videos = await rig
      .sql`select use_count from public.generated_videos where user_id = ${owner.id} and status = 'completed' order by use_count`;
    expect(videos.map((r) => r.use_count)).toEqual([1, 1, 2, 2, 2]);
  });

  it("misses after a clip is regenerated on purpose, keeping the old entry as failed 'Regenerated'", async () => {
    const [entry] = await rig.sql`
      select content_hash, video_url from public.generated_videos where user_id = ${owner.id} and status = 'completed' and use_count = 2 limit 1`;
    expect(await markVideoRegenerated(rig.sql, owner.id, entry.content_hash)).toBe(1);
    expect(await findCachedVideo(rig.sql, owner.id, entry.content_hash)).toBeNull();
    const [old] = await rig
      .sql`select status, error_message from public.generated_videos where user_id = ${owner.id} and video_url = ${entry.video_url}`;
    expect(old).toEqual({ status: "failed", error_message: "Regenerated" });
  });

  it("shows the caches to their owner only", async () => {
    const stranger = await createUser(rig.sql);
    try {
      for (const table of ["audio_cache", "generated_videos", "content_cache"]) {
        expect(await asUser(rig.sql, owner.id, (tx) => tx`select id from ${tx("public." + table)}`), table)
          .not.toHaveLength(0);
        expect(await asUser(rig.sql, stranger.id, (tx) => tx`select id from ${tx("public." + table)}`), table)
          .toHaveLength(0);
        await expect(asUser(rig.sql, owner.id, (tx) => tx`delete from ${tx("public." + table)}`)).rejects
          .toMatchObject({ code: "42501" });
      }
    } finally {
      await rig.sql`delete from auth.users where id = ${stranger.id}`;
    }
  });
});
