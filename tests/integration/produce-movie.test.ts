import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { admin, connect, createUser, invoke, type Sql, type TestUser, waitFor } from "../support/stack.ts";
import { download, durationOf } from "../support/render-media.ts";

let sql: Sql;
let owner: TestUser;
let stranger: TestUser;
const FUNCTIONS = ["produce-movie", "generate-scene-video", "generate-audio", "assemble"];

beforeAll(async () => {
  sql = connect();
  owner = await createUser(sql);
  stranger = await createUser(sql);
  await admin("config", { env: { REELFORGE_PROVIDER_POLL_MS: "200" } });
  for (const fn of FUNCTIONS) await admin("workers/kill", { function: fn });
});
afterAll(async () => {
  await admin("config", { env: { REELFORGE_PROVIDER_POLL_MS: null } });
  await sql.end();
});

describe("produce-movie with the offline local providers", () => {
  it(
    "turns a one-minute brief into a completed film through the gateway, every seed table filled",
    async () => {
      const start = await invoke("produce-movie", {
        action: "start",
        title: "Harbour Lights",
        prompt: "A lighthouse keeper hears a signal from the sea",
        genre: "mystery",
        durationMinutes: 1,
        orientation: "landscape",
      }, { token: owner.token });
      expect(start.status, start.text).toBe(202);
      const { movieId, taskId } = start.json;
      expect(taskId).toMatch(/^[0-9a-f-]{36}$/);

      const movie = await waitFor(async () => {
        const [row] = await sql`select * from public.movies where id = ${movieId}`;
        return row.status === "completed" || row.status === "failed" ? row : null;
      }, { timeoutMs: 240_000, everyMs: 500, what: "the film to end" });
      expect(movie.status, movie.error_message).toBe("completed");
      expect(movie.video_url).toMatch(/^http/);
      expect(movie.poster_url).toMatch(/^http/);
      expect(movie.progress).toBe(100);
      // A one-minute brief plays one minute ±10 % (film-length.test.ts: 3 and 10 minutes).
      const dir = mkdtempSync(join(tmpdir(), "produce-movie-"));
      const seconds = durationOf(await download(movie.video_url, join(dir, "film.mp4")));
      rmSync(dir, { recursive: true, force: true });
      expect(Math.abs(seconds - 60)).toBeLessThanOrEqual(6);
      const [{ shots }] =
        await sql`select count(*)::int as shots from public.scene_shots where movie_id = ${movieId}`;
      expect(shots).toBeGreaterThan(2);

      const scenes =
        await sql`select * from public.movie_scenes where movie_id = ${movieId} order by scene_number`;
      expect(scenes.length).toBe(2);
      for (const scene of scenes) {
        expect(scene.status).toBe("completed");
        expect(scene.video_url).toMatch(/^http/);
        expect(scene.end_frame_url).toMatch(/\.png$/);
        expect(["library", "generated", "previous_frame"]).toContain(scene.reference_image_source);
        expect(scene.video_prompt.length).toBeLessThanOrEqual(1000);
      }
      const [{ n: lines }] =
        await sql`select count(*)::int as n from public.scene_audio where movie_id = ${movieId} and status = 'completed'`;
      expect(lines).toBeGreaterThan(0);
      const [progress] = await sql`select * from public.movie_creation_progress where movie_id = ${movieId}`;
      expect(progress).toMatchObject({ overall_status: "completed", overall_progress: 100 });
      // Every step ended, and says so: a slice run again after a step finished (the poster's job
      // parks the produce task) must not mark it running again.
      for (const [step, state] of Object.entries(progress.steps as Record<string, { status: string }>)) {
        expect(["completed", "skipped"], `${step}: ${JSON.stringify(state)}`).toContain(state.status);
      }
      const [{ n: paid }] =
        await sql`select count(*)::int as n from public.movie_step_metrics where movie_id = ${movieId} and phase = 'succeeded'`;
      expect(paid).toBeGreaterThan(4);

      const status = await invoke("produce-movie", { action: "status", movieId }, { token: owner.token });
      expect(status.status).toBe(200);
      expect(status.json.scenes).toHaveLength(2);
      expect(status.json.progress.steps.finalize.status).toBe("completed");
      expect(status.json.metrics.map((m: { step: string }) => m.step)).toContain("generate_videos");

      const foreign = await invoke("produce-movie", { action: "status", movieId }, { token: stranger.token });
      expect(foreign.status).toBe(404);
    },
    300_000,
  );
});
