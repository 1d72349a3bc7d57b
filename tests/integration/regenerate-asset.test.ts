import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  admin,
  asUser,
  connect,
  createUser,
  invoke,
  pauseRenderWorkers,
  type Sql,
  stackEnv,
  type TestUser,
  waitFor,
  waitForStatus,
} from "../support/stack.ts";
import { addressOfSigned, bytesAtAddress } from "../support/stack-storage.ts";
import { connectWire } from "../../shared/clone/pg-wire.ts";

let sql: Sql;
let owner: TestUser;
let stranger: TestUser;
let movieId: string;
const FUNCTIONS = ["regenerate-asset", "produce-movie", "generate-scene-video", "generate-audio", "assemble"];

const regenerate = (body: Record<string, unknown>, user = owner) =>
  invoke("regenerate-asset", body, { token: user.token });

async function produceFilm(): Promise<string> {
  const start = await invoke("produce-movie", {
    action: "start",
    title: "Second Takes",
    prompt: "A projectionist finds a reel that changes every night",
    genre: "drama",
    durationMinutes: 0.25, // scenes of one shot each: a scene is regenerated whole
    orientation: "landscape",
  }, { token: owner.token });
  expect(start.status, start.text).toBe(202);
  await waitForMovie(start.json.movieId);
  return start.json.movieId;
}

async function waitForMovie(id: string) {
  const movie = await waitFor(async () => {
    const [row] = await sql`select * from public.movies where id = ${id}`;
    return row.status === "completed" || row.status === "failed" ? row : null;
  }, { timeoutMs: 240_000, everyMs: 500, what: "the film to end" });
  expect(movie.status, movie.error_message).toBe("completed");
  return movie;
}

async function startPreview(body: Record<string, unknown>) {
  const start = await regenerate({ action: "start", ...body });
  expect(start.status, start.text).toBe(202);
  const run = await waitFor(async () => {
    const [row] = await sql`select * from public.asset_runs where id = ${start.json.runId}`;
    return row.status !== "running" ? row : null;
  }, { timeoutMs: 60_000, what: "the preview" });
  expect(run.status, run.error).toBe("preview");
  return start.json.runId as string;
}

const currentOf = async (slot: string) =>
  (await sql`select * from public.assets where slot = ${slot} and state = 'current'`)[0];
const fetchBytes = bytesAtAddress;
/** The stored address a URL stands for: a signed URL's, or the read view's without its version query. */
const addressOf = (url: string) => addressOfSigned(url).split("?")[0];

/** The remix (film.mix) an accepted take's apply started. */
const mixOf = async (apply: string) =>
  await waitFor(async () =>
    (await sql`
      select id from public.background_tasks where parent_id = ${apply} and kind = 'film.mix'`)[0], {
    what: "the apply's remix",
  });

/**
 * Holds back a remix: once its render job is submitted, `holder` opens a transaction holding the
 * job's row, so no render worker claims it until `holder` commits (claims skip locked rows).
 */
async function holdRenderJob(mixId: string, holder: Awaited<ReturnType<Sql["reserve"]>>) {
  const job = await waitFor(async () =>
    (await sql`
      select external_id from public.movie_step_metrics
       where task_id = ${mixId} and step_name = 'mix' and external_id is not null`)[0]?.external_id, {
    timeoutMs: 60_000,
    what: "the remix's render job",
  });
  await holder`begin`;
  await holder`select from public.background_tasks where id = ${job}::uuid for update`;
}

beforeAll(async () => {
  sql = connect(8);
  owner = await createUser(sql);
  stranger = await createUser(sql);
  await admin("config", { env: { REELFORGE_PROVIDER_POLL_MS: "200" } });
  for (const fn of FUNCTIONS) await admin("workers/kill", { function: fn });
  movieId = await produceFilm();
}, 300_000);
afterAll(async () => {
  await sql`update asset_admin.settings set retention_seconds = 86400`;
  await admin("config", { env: { REELFORGE_PROVIDER_POLL_MS: null } });
  await sql.end();
});

describe("regenerate-asset", () => {
  it("registers every output of the pipeline as version 1 current, and the read view serves them cache-busted to the owner only", async () => {
    const slots =
      await sql`select slot, version, state from public.assets where movie_id = ${movieId} and state = 'current'`;
    expect(slots.map((s) => s.slot)).toEqual(
      expect.arrayContaining([`movie:${movieId}:video`, `movie:${movieId}:cover`]),
    );
    const [film] = await asUser(
      sql,
      owner.id,
      (tx) => tx`select * from public.film_with_assets where id = ${movieId}`,
    );
    expect(film.video_url).toMatch(/\?v=\d+/);
    expect(film.scenes).toHaveLength(2);
    expect(film.scenes[0].videoUrl).toMatch(/\?v=\d+/);
    const status = await invoke("produce-movie", { action: "status", movieId }, { token: owner.token });
    // status hands out the same versions, signed.
    expect(status.json.movie.videoUrl).toContain("/storage/v1/object/sign/");
    expect(addressOf(status.json.movie.videoUrl)).toBe(addressOf(film.video_url));
    expect(addressOf(status.json.movie.posterUrl)).toBe(addressOf(film.cover_url));
    expect(addressOf(status.json.scenes[0].video_url)).toBe(addressOf(film.scenes[0].videoUrl));
    const foreign = await asUser(sql, stranger.id, (tx) =>
      tx`
      select (select count(*) from public.film_with_assets where id = ${movieId})::int as films,
             (select count(*) from public.assets where movie_id = ${movieId})::int as assets`);
    expect(foreign[0]).toEqual({ films: 0, assets: 0 });
  });

  it("hands out no URL for the preview of a run a script reset failed: it can never be accepted", async () => {
    const runId = await startPreview({
      kind: "cover",
      target: { movieId },
      draft: { prompt: "A ticket stub on a cinema floor, poster" },
    });
    expect((await regenerate({ action: "status", runId })).json.preview.url).toMatch(/\/object\/sign\//);
    // What asset_admin.reset_film does to an open run of the film it resets (film-restart.test.ts
    // runs the reset itself; here the film must stay as it is for the other cases).
    await sql.begin(async (tx) => {
      await tx`update public.asset_runs set status = 'failed', error = 'the film was reset by a script regeneration'
                where id = ${runId}`;
      await tx`update public.assets set state = 'superseded', superseded_at = now(), delete_after = now() + interval '1 day'
                where id = (select preview_asset_id from public.asset_runs where id = ${runId})`;
    });
    const status = await regenerate({ action: "status", runId });
    expect(status.status, status.text).toBe(200);
    expect(status.json.run.status).toBe("failed");
    expect(status.json.preview.url).toBeNull();
  });

  it(
    "rejects a cover preview keeping the draft, then accepts a retry: a new URL, the old one served until cleanup, then gone",
    async () => {
      await sql`update asset_admin.settings set retention_seconds = 3`;
      const slot = `movie:${movieId}:cover`;
      const before = await currentOf(slot);
      const oldUrl = before.public_url as string;
      const oldBytes = await fetchBytes(oldUrl);
      expect(oldBytes.status).toBe(200);

      const draft = { prompt: "A lone projector beam in a dark theatre, poster" };
      const first = await startPreview({ kind: "cover", target: { movieId }, draft });
      const status = await regenerate({ action: "status", runId: first });
      expect(status.json.preview.url).toMatch(/\/storage\/v1\/object\/sign\/.+\?token=/);
      expect((await fetch(status.json.preview.url)).status).toBe(200);
      expect(status.json.current.version).toBe(before.version);
      const [{ id: droppedId, public_url: previewPath }] =
        await sql`select id, public_url from public.assets where id = (select preview_asset_id from public.asset_runs where id = ${first})`;
      const rejected = await regenerate({ action: "reject", runId: first });
      expect(rejected.status, rejected.text).toBe(200);
      expect(rejected.json.draft).toEqual(draft);
      expect((await sql`select draft, status from public.asset_runs where id = ${first}`)[0]).toEqual({
        draft,
        status: "rejected",
      });
      // Dropped, but its file is kept for the retention (the same draft again copies it for free).
      const [dropped] =
        await sql`select state, delete_after, deleted_at from public.assets where id = ${droppedId}`;
      expect(dropped.state).toBe("superseded");
      expect(dropped.deleted_at).toBeNull();
      expect(dropped.delete_after).toBeTruthy();
      expect((await regenerate({ action: "status", runId: first })).json.preview.url).toBeNull();
      expect((await currentOf(slot)).id).toBe(before.id);
      expect((await regenerate({ action: "accept", runId: first })).status).toBe(409);

      const retry = await startPreview({
        kind: "cover",
        target: { movieId },
        draft: { ...draft, prompt: `${draft.prompt}, warmer` },
      });
      const accepted = await regenerate({ action: "accept", runId: retry });
      expect(accepted.status, accepted.text).toBe(200);
      expect(accepted.json.version).toBeGreaterThan(before.version);
      const now = await currentOf(slot);
      expect(addressOf(accepted.json.url)).toBe(now.public_url);
      expect(accepted.json.url).toContain("?token=");
      expect(now.public_url).not.toBe(oldUrl);
      const [movie] = await sql`select poster_url, thumbnail_url from public.movies where id = ${movieId}`;
      expect(movie).toEqual({ poster_url: now.public_url, thumbnail_url: now.public_url });
      const [{ state }] = await sql`select state from public.assets where id = ${before.id}`;
      expect(state).toBe("superseded");
      const stillOld = await fetchBytes(oldUrl);
      expect(stillOld.status).toBe(200);
      expect(stillOld.bytes.equals(oldBytes.bytes)).toBe(true);

      const gone = await waitFor(async () => {
        const [row] = await sql`select deleted_at from public.assets where id = ${before.id}`;
        return row.deleted_at ? row : null;
      }, { timeoutMs: 30_000, everyMs: 250, what: "the superseded cover to be cleaned up" });
      expect(gone.deleted_at).toBeTruthy();
      expect((await fetchBytes(oldUrl)).status).not.toBe(200);
      const droppedGone = await waitFor(async () => {
        const [row] = await sql`select deleted_at from public.assets where id = ${droppedId}`;
        return row.deleted_at ? row : null;
      }, { timeoutMs: 30_000, everyMs: 250, what: "the rejected preview to be cleaned up" });
      expect(droppedGone.deleted_at).toBeTruthy();
      expect((await fetchBytes(previewPath)).status).not.toBe(200);
      const [{ refs }] = await sql`
      select count(*)::int as refs from public.assets where storage_path = ${before.storage_path} and state in ('current', 'preview')`;
      expect(refs).toBe(0);
      const [{ n }] =
        await sql`select count(*)::int as n from public.movies where poster_url = ${oldUrl} or thumbnail_url = ${oldUrl}`;
      expect(n).toBe(0);
    },
    120_000,
  );

  it("lets exactly one of two concurrent accepts on one slot win; the other is stale (409)", async () => {
    const slot = `movie:${movieId}:cover`;
    const [a, b] = await Promise.all([
      startPreview({ kind: "cover", target: { movieId }, draft: { prompt: "Poster A" } }),
      startPreview({ kind: "cover", target: { movieId }, draft: { prompt: "Poster B" } }),
    ]);
    const answers = await Promise.all([
      regenerate({ action: "accept", runId: a }),
      regenerate({ action: "accept", runId: b }),
    ]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(answers.find((r) => r.status === 409)!.json.error.code).toBe("asset_run_stale");
    const currents = await sql`select id from public.assets where slot = ${slot} and state = 'current'`;
    expect(currents).toHaveLength(1);
    const winner = answers[0].status === 200 ? a : b;
    const [run] = await sql`select preview_asset_id from public.asset_runs where id = ${winner}`;
    expect(currents[0].id).toBe(run.preview_asset_id);
  }, 120_000);

  it(
    "re-voices one line stitched to its neighbours and remixes only that scene; then a new clip keeps the scene's audio; the film is reassembled each time",
    async () => {
      const [line] = await sql`
      select l.*, s.id as scene_row from public.scene_audio l join public.movie_scenes s on s.id = l.scene_id
       where l.movie_id = ${movieId} and l.status = 'completed' order by l.scene_number, l.line_index limit 1`;
      const scenesBefore =
        await sql`select id, scene_number, clip_url, video_url from public.movie_scenes where movie_id = ${movieId} order by scene_number`;
      const [filmBefore] = await sql`select video_url from public.movies where id = ${movieId}`;

      const runId = await startPreview({
        kind: "audio",
        target: { movieId, sceneNumber: line.scene_number, lineIndex: line.line_index },
        draft: { text: "Who keeps changing the reel?" },
      });
      const [preview] =
        await sql`select params from public.assets where id = (select preview_asset_id from public.asset_runs where id = ${runId})`;
      const neighbours =
        await sql`select request_id from public.scene_audio where scene_id = ${line.scene_id} and line_index > ${line.line_index} and request_id is not null order by line_index limit 3`;
      expect(preview.params.nextRequestIds).toEqual(neighbours.map((r) => r.request_id));
      // The voice call is metered as a job is: intent, then its end with its cost (before, no row:
      // not counted in the film's spend or the owner's daily use).
      const [{ task_id: previewTask }] = await sql`select task_id from public.asset_runs where id = ${runId}`;
      const metered = await sql`
        select step, phase, cost_units::float as cost, cost_unit from public.movie_step_metrics
         where task_id = ${previewTask} and step_name = 'preview:voice'`;
      expect(metered).toEqual([{
        step: "regenerate:audio",
        phase: "succeeded",
        cost: "Who keeps changing the reel?".length,
        cost_unit: "characters",
      }]);
      const accepted = await regenerate({ action: "accept", runId });
      expect(accepted.status, accepted.text).toBe(200);
      await waitForStatus(sql, accepted.json.applyTaskId, ["succeeded"], 120_000);
      const [voiced] = await sql`select text, audio_url from public.scene_audio where id = ${line.id}`;
      expect(voiced.text).toBe("Who keeps changing the reel?");
      expect(voiced.audio_url).not.toBe(line.audio_url);
      const [cached] =
        await sql`select text from public.audio_cache where user_id = ${owner.id} and audio_url = ${voiced.audio_url}`;
      expect(cached.text).toBe("Who keeps changing the reel?");
      const scenesAfter =
        await sql`select id, scene_number, clip_url, video_url from public.movie_scenes where movie_id = ${movieId} order by scene_number`;
      for (const [i, scene] of scenesAfter.entries()) {
        expect(scene.clip_url).toBe(scenesBefore[i].clip_url);
        if (scene.scene_number === line.scene_number) {
          expect(scene.video_url).not.toBe(scenesBefore[i].video_url);
        } else expect(scene.video_url).toBe(scenesBefore[i].video_url);
      }
      const [filmAfter] = await sql`select video_url from public.movies where id = ${movieId}`;
      expect(filmAfter.video_url).not.toBe(filmBefore.video_url);

      const sceneNumber = scenesAfter[0].scene_number;
      const linesBefore = await sql`select id, audio_url, text from public.scene_audio where scene_id = ${
        scenesAfter[0].id
      } order by line_index`;
      const [{ end_frame_url: endFrameBefore }] =
        await sql`select end_frame_url from public.movie_scenes where id = ${scenesAfter[0].id}`;
      // A new prompt (the scene's own inputs again would be a new take too: asset-take.ts).
      const clipRun = await startPreview({
        kind: "video",
        target: { movieId, sceneNumber },
        draft: { prompt: "The projector's beam flickers across empty seats" },
      });
      const clipAccepted = await regenerate({ action: "accept", runId: clipRun });
      expect(clipAccepted.status, clipAccepted.text).toBe(200);
      await waitForStatus(sql, clipAccepted.json.applyTaskId, ["succeeded"], 120_000);
      const [scene] =
        await sql`select clip_url, video_url, mix_status, end_frame_url from public.movie_scenes where id = ${
          scenesAfter[0].id
        }`;
      expect(scene.end_frame_url).toMatch(/-end\.png$/);
      expect(scene.end_frame_url).not.toBe(endFrameBefore);
      expect(scene.clip_url).not.toBe(scenesAfter[0].clip_url);
      const replaced =
        await sql`select status, error_message from public.generated_videos where video_url = ${
          scenesAfter[0].clip_url
        }`;
      for (const entry of replaced) expect(entry).toEqual({ status: "failed", error_message: "Regenerated" });
      const [entry] =
        await sql`select status from public.generated_videos where video_url = ${scene.clip_url}`;
      expect(entry.status).toBe("completed");
      expect(scene.mix_status).toBe("completed");
      expect(scene.video_url).not.toBe(scene.clip_url);
      expect(
        await sql`select id, audio_url, text from public.scene_audio where scene_id = ${
          scenesAfter[0].id
        } order by line_index`,
      ).toEqual(linesBefore);
      const [filmLast] = await sql`select video_url from public.movies where id = ${movieId}`;
      expect(filmLast.video_url).not.toBe(filmAfter.video_url);
    },
    240_000,
  );

  it(
    "two lines of one scene accepted together: the scene keeps both, whichever remix ends last",
    async () => {
      const [scene] = await sql`
        select scene_id, scene_number from public.scene_audio
         where movie_id = ${movieId} and status = 'completed'
         group by scene_id, scene_number having count(*) >= 2 order by scene_number limit 1`;
      const [a, b] = await sql<{ line_index: number }[]>`
        select line_index from public.scene_audio where scene_id = ${scene.scene_id} and status = 'completed'
         order by line_index limit 2`;
      const take = (line: { line_index: number }, text: string) =>
        startPreview({
          kind: "audio",
          target: { movieId, sceneNumber: scene.scene_number, lineIndex: line.line_index },
          draft: { text },
        });
      const [runA, runB] = [
        await take(a, "The first line, said again."),
        await take(b, "The second, said again."),
      ];
      // Render workers paused, then A's remix held: B's remix, which hears both new lines, ends
      // first; A's, which heard only the first, ends last.
      await pauseRenderWorkers();
      const holder = await sql.reserve();
      try {
        const acceptedA = await regenerate({ action: "accept", runId: runA });
        expect(acceptedA.status, acceptedA.text).toBe(200);
        const mixA = await mixOf(acceptedA.json.applyTaskId);
        await holdRenderJob(mixA.id, holder);
        const acceptedB = await regenerate({ action: "accept", runId: runB });
        expect(acceptedB.status, acceptedB.text).toBe(200);
        const mixB = await mixOf(acceptedB.json.applyTaskId);
        await admin("render-workers/resume", {});
        await waitForStatus(sql, mixB.id, ["succeeded"], 120_000);
        await holder`commit`;
        await waitForStatus(sql, mixA.id, ["succeeded"], 120_000);
        await waitForStatus(sql, acceptedA.json.applyTaskId, ["succeeded"], 120_000);
        await waitForStatus(sql, acceptedB.json.applyTaskId, ["succeeded"], 120_000);
        // Before, A's remix saved last and the scene went back to the second line's old take.
        const [mixed] =
          await sql`select video_url, mix_status from public.movie_scenes where id = ${scene.scene_id}`;
        expect(mixed.mix_status).toBe("completed");
        expect(mixed.video_url).toContain(`-mixed-${String(mixB.id).slice(0, 8)}`);
      } finally {
        await holder`rollback`.catch(() => {});
        holder.release();
        await admin("render-workers/resume", {});
      }
    },
    300_000,
  );

  it(
    "a line's remix that ends after the scene got a new clip leaves the scene to the new clip's mix",
    async () => {
      const [scene] = await sql`
        select a.scene_id, a.scene_number, a.line_index from public.scene_audio a
         where a.movie_id = ${movieId} and a.status = 'completed' order by a.scene_number, a.line_index limit 1`;
      const lineRun = await startPreview({
        kind: "audio",
        target: { movieId, sceneNumber: scene.scene_number, lineIndex: scene.line_index },
        draft: { text: "Once more, and slower this time." },
      });
      const clipRun = await startPreview({
        kind: "video",
        target: { movieId, sceneNumber: scene.scene_number },
        draft: { prompt: "Rain streaks the projection booth's window" },
      });
      // The line's remix renders the old clip and is held back; the clip's apply, whose remix hears
      // the same lines over the new clip, ends first. (As when the line's apply was cancelled
      // mid-remix and resumed after the clip was accepted: its job of the old clip was kept.)
      await pauseRenderWorkers();
      const holder = await sql.reserve();
      try {
        const lineAccepted = await regenerate({ action: "accept", runId: lineRun });
        expect(lineAccepted.status, lineAccepted.text).toBe(200);
        const lineMix = await mixOf(lineAccepted.json.applyTaskId);
        await holdRenderJob(lineMix.id, holder);
        await admin("render-workers/resume", {});
        const clipAccepted = await regenerate({ action: "accept", runId: clipRun, cascade: false });
        expect(clipAccepted.status, clipAccepted.text).toBe(200);
        await waitForStatus(sql, clipAccepted.json.applyTaskId, ["succeeded"], 120_000);
        const clipMix = await mixOf(clipAccepted.json.applyTaskId);
        await holder`commit`;
        await waitForStatus(sql, lineAccepted.json.applyTaskId, ["succeeded"], 120_000);
        // Before, the line's remix saved last: the scene's video was a mix of the replaced clip.
        const [mixed] = await sql`
          select video_url, mix_status from public.movie_scenes where id = ${scene.scene_id}`;
        expect(mixed.mix_status).toBe("completed");
        expect(mixed.video_url).toContain(`-mixed-${String(clipMix.id).slice(0, 8)}`);
      } finally {
        await holder`rollback`.catch(() => {});
        holder.release();
        await admin("render-workers/resume", {});
      }
    },
    300_000,
  );

  it("a start takes the user's usage lock before the film's row, as a scene's start and a resume do", async () => {
    // Two starts on one film at once took them in opposite orders and deadlocked; one answered 500.
    const holder = await sql.reserve();
    let starting: Promise<Awaited<ReturnType<typeof regenerate>>> | null = null;
    try {
      await holder`begin`;
      await holder`select pg_advisory_xact_lock(hashtextextended(${"reelforge.usage:" + owner.id}, 0))`;
      starting = regenerate({ action: "start", kind: "cover", target: { movieId } });
      await waitFor(async () =>
        (await sql`
          select 1 from pg_locks where locktype = 'advisory' and not granted and pid <> pg_backend_pid()`)
          .length > 0, {
        everyMs: 20,
        what: "the start to wait for the usage lock",
      });
      // Waiting for it, the start holds none of the film's rows.
      const free = await sql`select id from public.movies where id = ${movieId} for no key update nowait`
        .then(() => true, () => false);
      expect(free).toBe(true);
    } finally {
      await holder`commit`.catch(() => {});
      holder.release();
    }
    const started = await starting!;
    expect(started.status, started.text).toBe(202);
    const run = await waitFor(async () => {
      const [row] = await sql`select status from public.asset_runs where id = ${started.json.runId}`;
      return row.status !== "running" ? row : null;
    }, { timeoutMs: 60_000, what: "the cover's preview" });
    expect(run.status).toBe("preview");
    expect((await regenerate({ action: "reject", runId: started.json.runId })).status).toBe(200);
  });

  it("never deletes a superseded file that a cache entry still names", async () => {
    // The re-voiced line's old audio: no current version names it any more, only its cache entry.
    const [cached] = await sql`
      select storage_bucket, storage_path, audio_url from public.audio_cache c
       where user_id = ${owner.id} and not exists (
         select 1 from public.assets a where a.storage_bucket = c.storage_bucket and a.storage_path = c.storage_path and a.state = 'current')
       limit 1`;
    const [asset] = await sql`
      insert into public.assets (user_id, slot, kind, version, state, storage_bucket, storage_path, public_url, delete_after)
      values (${owner.id}, ${`test:${crypto.randomUUID()}`}, 'audio', 1, 'superseded', ${cached.storage_bucket}, ${cached.storage_path}, ${cached.audio_url}, now() - interval '1 second')
      returning id`;
    const [task] =
      await sql`select id from engine.enqueue_task(p_user_id => ${owner.id}, p_kind => 'asset.cleanup', p_function => 'regenerate-asset', p_payload => ${
        sql.json({ userId: owner.id })
      })`;
    await waitForStatus(sql, task.id, ["succeeded"], 30_000);
    expect((await sql`select deleted_at from public.assets where id = ${asset.id}`)[0].deleted_at)
      .toBeTruthy();
    expect((await fetchBytes(cached.audio_url)).status).toBe(200);
  });

  it("a start racing a resume of its film is refused once the resume commits, charging nothing", async () => {
    const counted = async () =>
      (await sql`
      select (select count(*) from public.asset_runs where movie_id = ${movieId})::int as runs,
             (select count(*) from public.usage_events where user_id = ${owner.id})::int as usage`)[0];
    const before = await counted();
    // What a resume writes, held open: the progress row, then the film back in production.
    const resume = await sql.reserve();
    let started: Promise<{ status: number; text: string; json: { error?: { code: string } } }>;
    try {
      await resume`begin`;
      await resume`update public.movie_creation_progress set updated_at = now() where movie_id = ${movieId}`;
      await resume`update public.movies set status = 'processing' where id = ${movieId}`;
      started = regenerate({ action: "start", kind: "cover", target: { movieId } });
      const waiting = async () =>
        (await sql`
          select 1 from pg_stat_activity
           where wait_event_type = 'Lock' and query like '%movie_creation_progress%for share%'`).length > 0 ||
        null;
      // Before: the start, checked outside its transaction only, was admitted at once (202) and charged.
      const first = await Promise.race([
        started.then((answer) => `answered ${answer.status} before the resume committed: ${answer.text}`),
        waitFor(waiting, { timeoutMs: 30_000, what: "the start to wait for the resume" }).then(() =>
          "waiting"
        ),
      ]);
      expect(first).toBe("waiting");
      await resume`commit`;
    } finally {
      resume.release();
    }
    try {
      const answer = await started!;
      expect(answer.status, answer.text).toBe(409);
      expect(answer.json.error?.code).toBe("movie_in_production");
      expect(await counted()).toEqual(before);
    } finally {
      await sql`update public.movies set status = 'completed' where id = ${movieId}`;
    }
  });

  it("keeps runs and movies to their owner and refuses bad input naming the problem, changing nothing", async () => {
    const count = async () =>
      (await sql`select count(*)::int as n from public.asset_runs where movie_id = ${movieId}`)[0].n;
    const before = await count();
    const foreign = await regenerate({ action: "start", kind: "cover", target: { movieId } }, stranger);
    expect(foreign.status).toBe(404);
    const unknownScene = await regenerate({
      action: "start",
      kind: "video",
      target: { movieId, sceneNumber: 99 },
    });
    expect(unknownScene.status).toBe(400);
    expect(unknownScene.json.error.message).toContain("no scene 99");
    const unknownMovie = await regenerate({
      action: "start",
      kind: "cover",
      target: { movieId: crypto.randomUUID() },
    });
    expect(unknownMovie.status).toBe(404);
    const [run] = await sql`select id from public.asset_runs where movie_id = ${movieId} limit 1`;
    for (const action of ["accept", "reject", "status"]) {
      expect((await regenerate({ action, runId: run.id }, stranger)).status).toBe(404);
    }
    expect(await count()).toBe(before);
    const seen = await asUser(
      sql,
      stranger.id,
      (tx) => tx`select count(*)::int as n from public.asset_runs where movie_id = ${movieId}`,
    );
    expect(seen[0].n).toBe(0);
  });

  it(
    "resets a whole film atomically when its script is regenerated: a kill before commit keeps the old film, an accept restarts the pipeline",
    async () => {
      const [movie] = await sql`select * from public.movies where id = ${movieId}`;
      const [{ n: scenes }] =
        await sql`select count(*)::int as n from public.movie_scenes where movie_id = ${movieId}`;
      // A kill in the middle: the reset's transaction dies before commit. The victim is a plain
      // wire connection: postgres.js, whose backend is killed under it, may still flush a queued
      // write onto the closed socket afterwards (an uncaught TypeError outside any test).
      const victim = await connectWire({ url: stackEnv().DB_URL });
      try {
        const [[pid]] = await victim.query("select pg_backend_pid()");
        await victim.query("begin");
        await victim.query(
          `select asset_admin.reset_film('${movieId}', '${owner.id}', 'killed', '{}'::jsonb, 'kill-test')`,
        );
        await sql`select pg_terminate_backend(${Number(pid)})`;
        await expect(victim.query("select 1")).rejects.toThrow();
      } finally {
        victim.close();
      }
      const [still] =
        await sql`select status, prompt, video_url, poster_url, task_id from public.movies where id = ${movieId}`;
      expect(still).toEqual({
        status: "completed",
        prompt: movie.prompt,
        video_url: movie.video_url,
        poster_url: movie.poster_url,
        task_id: movie.task_id,
      });
      expect((await sql`select count(*)::int as n from public.movie_scenes where movie_id = ${movieId}`)[0].n)
        .toBe(scenes);

      const runId = await startPreview({
        kind: "script",
        target: { movieId },
        draft: { prompt: "A projectionist and a reel that rewinds time" },
      });
      const accepted = await regenerate({ action: "accept", runId });
      expect(accepted.status, accepted.text).toBe(200);
      const [reset] = await sql`select prompt, task_id from public.movies where id = ${movieId}`;
      expect(reset.prompt).toBe("A projectionist and a reel that rewinds time");
      expect(reset.task_id).toBe(accepted.json.produceTaskId);
      const [{ live }] = await sql`
      select count(*)::int as live from public.assets where movie_id = ${movieId} and state = 'current' and kind <> 'script'
         and created_at < (select created_at from public.asset_runs where id = ${runId})`;
      expect(live).toBe(0);
      const again = await waitForMovie(movieId);
      expect(again.video_url).not.toBe(movie.video_url);
      expect(again.poster_url).toMatch(/^http/);
    },
    300_000,
  );

  it(
    "shares one reassembly between the applies whose takes land while the film's last one renders",
    async () => {
      // Three takes applied one after the other while render workers are held (as a queue of
      // renders holds them): each apply (here of a music take, which only reassembles) is enqueued
      // as an accept enqueues it.
      const apply = async () => {
        const [task] = await sql`
        select id from engine.enqueue_task(p_user_id => ${owner.id}, p_kind => 'asset.apply',
                                           p_function => 'regenerate-asset', p_payload => ${
          sql.json({ movieId })
        })`;
        return task.id as string;
      };
      const assemblyOf = async (applyId: string) =>
        (await sql`select id, status from public.background_tasks where parent_id = ${applyId} and kind = 'film.assemble'`)[
          0
        ];
      const waitsOn = async (waiterId: string) =>
        (await sql`
        select w.target_id from engine.task_waits w join public.background_tasks b on b.id = w.waiter_id
         where w.waiter_id = ${waiterId} and b.status = 'waiting'`)[0]?.target_id as string | undefined;
      await admin("render-workers/pause", {});
      let applies: string[];
      let first: string, second: string;
      try {
        await waitFor(
          async () =>
            ((await admin("render-workers")).workers as { pid: number | null }[]).every((w) =>
              w.pid === null
            ),
          {
            timeoutMs: 60_000,
            what: "render workers to stop",
          },
        );
        applies = [await apply()];
        // The first reassembly reads the scenes and waits for its render.
        first = (await waitFor(async () => {
          const assembly = await assemblyOf(applies[0]);
          if (!assembly) {
            return null;
          }
          const [read] = await sql`
          select 1 from public.background_task_steps where task_id = ${assembly.id} and name = 'assemble_movie:timeline'`;
          return read ? assembly : null;
        }, { timeoutMs: 60_000, what: "the first reassembly to read the film" })).id;
        applies.push(await apply());
        // The second waits for the first before it reads anything (before, it read and rendered beside it).
        second = (await waitFor(async () =>
          await assemblyOf(applies[1]), { what: "the second reassembly" })).id;
        expect(
          await waitFor(() => waitsOn(second), { timeoutMs: 60_000, what: "the second reassembly to wait" }),
        )
          .toBe(first);
        // The third apply joins the second instead of starting one of its own.
        applies.push(await apply());
        expect(
          await waitFor(() => waitsOn(applies[2]), { timeoutMs: 60_000, what: "the third apply to wait" }),
        )
          .toBe(second);
        expect(await assemblyOf(applies[2])).toBeUndefined();
      } finally {
        await admin("render-workers/resume", {});
      }
      const ended = await Promise.all(
        applies.map((id) => waitForStatus(sql, id, ["succeeded", "failed"], 240_000)),
      );
      for (const task of ended) expect(task.status, JSON.stringify(task.last_error)).toBe("succeeded");
      expect(ended[2].result).toMatchObject({ reassembled: true, assembledBy: second });
      // The shared reassembly read the film after the third apply was enqueued, and its film is in place.
      const [read] = await sql`
      select (s.result ->> 'readAt')::timestamptz > t.created_at as after_third
        from public.background_task_steps s, public.background_tasks t
       where s.task_id = ${second} and s.name = 'assemble_movie:timeline' and t.id = ${applies[2]}`;
      expect(read.after_third).toBe(true);
      const [film] = await sql`select video_url from public.movies where id = ${movieId}`;
      const [secondResult] =
        await sql`select result ->> 'videoUrl' as url from public.background_tasks where id = ${second}`;
      expect(film.video_url).toBe(secondResult.url);
    },
    300_000,
  );

  it("fails the apply, saying why, when the film cannot be put together again after an accept", async () => {
    const scenes = await sql`
      select id, clip_url from public.movie_scenes
       where movie_id = ${movieId} and status = 'completed' order by scene_number`;
    expect(scenes.length).toBeGreaterThan(1);
    const [filmBefore] = await sql`select video_url from public.movies where id = ${movieId}`;
    // The last scene's clip is gone from storage: the film's next render cannot read it.
    const lost = String(scenes.at(-1)!.clip_url).replace(/[^/?]+(\?|$)/, "lost-scene.mp4$1");
    await sql`update public.movie_scenes set clip_url = ${lost}, video_url = ${lost} where id = ${
      scenes.at(-1)!.id
    }`;
    const [line] = await sql`
      select scene_number, line_index from public.scene_audio
       where scene_id = ${scenes[0].id} and status = 'completed' order by line_index limit 1`;
    const runId = await startPreview({
      kind: "audio",
      target: { movieId, sceneNumber: line.scene_number, lineIndex: line.line_index },
      draft: { text: "Where did the last reel go?" },
    });
    const accepted = await regenerate({ action: "accept", runId });
    expect(accepted.status, accepted.text).toBe(200);
    // Before, the apply succeeded saying `reassembled: true` while its film.assemble had failed.
    const apply = await waitForStatus(sql, accepted.json.applyTaskId, ["succeeded", "failed"], 180_000);
    expect(apply.status).toBe("failed");
    expect(apply.last_error).toEqual(expect.objectContaining({
      code: "reassembly_failed",
      message: expect.stringMatching(
        /^The take is in the film, which was not reassembled: assembly failed: /,
      ),
    }));
    const [filmAfter] = await sql`select video_url from public.movies where id = ${movieId}`;
    expect(filmAfter.video_url).toBe(filmBefore.video_url);
  }, 240_000);
});
