/**
 * Orphan cleanup: objects under films/<user>/ that no asset version or cache entry references are
 * deleted after the retention period and logged; referenced, cached and young ones stay.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweepOrphans } from "../../shared/film/orphan-cleanup.ts";
import {
  asUser,
  connect,
  createUser,
  type Sql,
  stackEnv,
  type TestUser,
  waitFor,
  waitForStatus,
} from "../support/stack.ts";
import { ensureBucket, removeUnder, stackStorage } from "../support/stack-storage.ts";

const BUCKET = "cleanup-test";
let sql: Sql;
let owner: TestUser;
let other: TestUser;
let movieId: string;

const storage = () => stackStorage(sql);
const path = (name: string, user = owner.id) => `films/${user}/${movieId}/${name}`;

async function put(name: string, user?: string) {
  await storage().upload(BUCKET, path(name, user), new TextEncoder().encode(`bytes of ${name}`), {
    contentType: "video/mp4",
  });
}

async function exists(name: string, user?: string) {
  return (await storage().download(BUCKET, path(name, user))) !== null;
}

async function addAsset(name: string, state: string, deleteAfter: Date | null) {
  await sql`
    insert into public.assets (user_id, movie_id, slot, kind, version, state, storage_bucket, storage_path, delete_after)
    values (${owner.id}, ${movieId}, ${`test:${name}`}, 'video', 1, ${state}, ${BUCKET}, ${
    path(name)
  }, ${deleteAfter})`;
}

beforeAll(async () => {
  sql = connect(2);
  owner = await createUser(sql);
  other = await createUser(sql);
  await ensureBucket(BUCKET);
  const [movie] = await sql`
    insert into public.movies (user_id, title, prompt, genre, duration_minutes) values (${owner.id}, 'Cleanup', 'p', 'drama', 1) returning id`;
  movieId = movie.id;
});

afterAll(async () => {
  await sql`delete from public.storage_cleanup_log where storage_bucket = ${BUCKET}`;
  for (const user of [owner.id, other.id]) await removeUnder(sql, BUCKET, `films/${user}/`);
  await sql`delete from auth.users where id in (${owner.id}, ${other.id})`;
  await sql.end();
});

describe("orphan cleanup", () => {
  it("deletes and logs unreferenced objects older than the retention, and keeps referenced, cached and young ones", async () => {
    for (
      const name of [
        "old-orphan.mp4",
        "young-orphan.mp4",
        "current.mp4",
        "superseded-live.mp4",
        "superseded-past.mp4",
        "cached-line.mp3",
      ]
    ) await put(name);
    await put("not-mine.mp4", other.id);
    await addAsset("current.mp4", "current", null);
    await addAsset("superseded-live.mp4", "superseded", new Date(Date.now() + 3_600_000));
    await addAsset("superseded-past.mp4", "superseded", new Date(Date.now() - 1000));
    await sql`
      insert into public.audio_cache (user_id, content_hash, text, voice_id, provider, model, audio_url, storage_bucket, storage_path, content_type)
      values (${owner.id}, 'h1', 'Hi.', 'v', 'elevenlabs', 'm', 'http://x/cached-line.mp3', ${BUCKET}, ${
      path("cached-line.mp3")
    }, 'audio/mpeg')`;
    const options = {
      sql,
      storage: storage(),
      bucket: BUCKET,
      prefix: `films/${owner.id}/`,
      retentionSeconds: 3600,
    };

    const first = await sweepOrphans(options);
    expect(first).toEqual({ listed: 6, deleted: [] });
    const pending =
      await sql`select storage_path from public.storage_cleanup_log where storage_bucket = ${BUCKET} and deleted_at is null order by 1`;
    expect(pending.map((r) => r.storage_path)).toEqual([
      path("old-orphan.mp4"),
      path("superseded-past.mp4"),
      path("young-orphan.mp4"),
    ]);

    // Seen unreferenced two hours ago: past the retention now.
    await sql`update public.storage_cleanup_log set first_seen_at = now() - interval '2 hours'
               where storage_bucket = ${BUCKET} and storage_path in (${path("old-orphan.mp4")}, ${
      path("superseded-past.mp4")
    })`;
    const second = await sweepOrphans(options);
    expect(second.deleted.sort()).toEqual([path("old-orphan.mp4"), path("superseded-past.mp4")]);
    expect(await exists("old-orphan.mp4")).toBe(false);
    expect(await exists("superseded-past.mp4")).toBe(false);
    for (const kept of ["young-orphan.mp4", "current.mp4", "superseded-live.mp4", "cached-line.mp3"]) {
      expect(await exists(kept), kept).toBe(true);
    }
    expect(await exists("not-mine.mp4", other.id)).toBe(true);
    const log = await sql`
      select storage_path, size_bytes from public.storage_cleanup_log where storage_bucket = ${BUCKET} and deleted_at is not null order by 1`;
    expect(log.map((r) => [r.storage_path, Number(r.size_bytes)])).toEqual([
      [path("old-orphan.mp4"), "bytes of old-orphan.mp4".length],
      [path("superseded-past.mp4"), "bytes of superseded-past.mp4".length],
    ]);
  });

  it("restarts an object's clock when it is referenced again before its time", async () => {
    await put("back-again.mp4");
    const options = {
      sql,
      storage: storage(),
      bucket: BUCKET,
      prefix: `films/${owner.id}/`,
      retentionSeconds: 3600,
    };
    await sweepOrphans(options);
    await sql`update public.storage_cleanup_log set first_seen_at = now() - interval '2 hours' where storage_path = ${
      path("back-again.mp4")
    }`;
    await addAsset("back-again.mp4", "current", null);
    const run = await sweepOrphans(options);
    expect(run.deleted).not.toContain(path("back-again.mp4"));
    expect(await exists("back-again.mp4")).toBe(true);
    expect(await sql`select 1 from public.storage_cleanup_log where storage_path = ${path("back-again.mp4")}`)
      .toHaveLength(0);
  });

  it("keeps a superseded library image that a scene still names as its reference image", async () => {
    await put("old-location.png");
    await addAsset("old-location.png", "superseded", new Date(Date.now() - 1000));
    const options = {
      sql,
      storage: storage(),
      bucket: BUCKET,
      prefix: `films/${owner.id}/`,
      retentionSeconds: 0,
    };
    const url = `${stackEnv().API_URL}/storage/v1/object/public/${BUCKET}/${path("old-location.png")}`;
    const [scene] = await sql`
      insert into public.movie_scenes (movie_id, user_id, scene_number, scene_id, location_name, location_slug, time_of_day, weather,
                                       duration_seconds, reference_image_url, reference_image_source)
      values (${movieId}, ${owner.id}, 1, 's1', 'Harbour', 'harbour', 'night', 'rain', 5, ${url}, 'library') returning id`;
    expect((await sweepOrphans(options)).deleted).not.toContain(path("old-location.png"));
    expect(await exists("old-location.png")).toBe(true);
    // Once no scene names it, it is an orphan like any other.
    await sql`update public.movie_scenes set reference_image_url = null where id = ${scene.id}`;
    expect((await sweepOrphans(options)).deleted).toContain(path("old-location.png"));
    expect(await exists("old-location.png")).toBe(false);
  });

  it("is not callable by API users", async () => {
    await expect(
      asUser(
        sql,
        owner.id,
        (tx) =>
          tx`select public.storage_cleanup_due(${BUCKET}, ${[path("current.mp4")]}::text[], ${[
            1,
          ]}::bigint[], 0)`,
      ),
    )
      .rejects.toMatchObject({ code: "42501" });
    await expect(asUser(sql, owner.id, (tx) => tx`select public.enqueue_storage_cleanup()`)).rejects
      .toMatchObject({ code: "42501" });
    await expect(asUser(sql, owner.id, (tx) => tx`select * from public.storage_cleanup_log`)).rejects
      .toMatchObject({ code: "42501" });
  });

  it("runs as the owner's storage.cleanup task on assemble, against the stack's Storage", async () => {
    const media = stackStorage(sql);
    const key = (name: string) => `films/${owner.id}/${movieId}/${name}`;
    for (const name of ["task-orphan.mp4", "task-kept.mp4"]) {
      await media.upload("media", key(name), new TextEncoder().encode(name), { contentType: "video/mp4" });
    }
    await sql`
      insert into public.assets (user_id, movie_id, slot, kind, version, state, storage_bucket, storage_path)
      values (${owner.id}, ${movieId}, 'test:task-kept', 'video', 1, 'current', 'media', ${
      key("task-kept.mp4")
    })`;
    const [task] = await sql`
      select id from engine.enqueue_task(${owner.id}, 'storage.cleanup', 'assemble', ${
      sql.json({ retentionSeconds: 0 })
    })`;
    const done = await waitForStatus(sql, task.id, ["succeeded", "failed"]);
    expect(done.status, JSON.stringify(done.last_error)).toBe("succeeded");
    expect(done.result).toEqual({ listed: 2, deleted: 1 });
    expect(await media.download("media", key("task-orphan.mp4"))).toBeNull();
    expect(await media.download("media", key("task-kept.mp4"))).not.toBeNull();
    const [logged] =
      await sql`select deleted_at from public.storage_cleanup_log where storage_bucket = 'media' and storage_path = ${
        key("task-orphan.mp4")
      }`;
    expect(logged.deleted_at).toBeInstanceOf(Date);
    await media.remove("media", [key("task-kept.mp4")]);
    await sql`delete from public.storage_cleanup_log where storage_bucket = 'media' and storage_path like ${`films/${owner.id}/%`}`;
  });

  it("runs many owners' tasks rung together to the end, as the daily run rings them", async () => {
    // More slices at once than a worker's pool has connections: each page's step once held one
    // for its transaction and waited for another to list Storage, and the worker stalled.
    const owners = await Promise.all(Array.from({ length: 8 }, () => createUser(sql)));
    const tasks = await sql`
      select (engine.enqueue_task(u, 'storage.cleanup', 'assemble', ${
      sql.json({ retentionSeconds: 86400 })
    })).id as id
        from unnest(${owners.map((o) => o.id)}::uuid[]) u`;
    const ended = await waitFor(async () => {
      const rows = await sql`select status from public.background_tasks where id = any(${
        tasks.map((t) => t.id)
      }::uuid[])
                               and status in ('succeeded', 'failed', 'cancelled')`;
      return rows.length === tasks.length ? rows : null;
    }, { what: "every owner's storage.cleanup to end", timeoutMs: 60_000 });
    expect(ended.map((r) => r.status)).toEqual(tasks.map(() => "succeeded"));
  });
});
