/**
 * Render workers as they run in production: supervised, restarted when they die, and never the
 * reason a film fails. A film completes while its render worker is SIGKILLed mid-job (as an OOM
 * or a crash would) and function workers are killed at random; the supervisor restarts the
 * worker, the killed worker's job is taken back before its lease would have run out, and no task
 * fails `worker_lost`. With no render worker at all, the film's status says what it waits on, its
 * waiting tasks hold no function worker, and it completes once a worker is back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FilmShape } from "../support/film-script.ts";
import {
  briefFor,
  FILM_FUNCTIONS,
  type FilmRig,
  filmUser,
  startFilm,
  startFilmRig,
  waitForFilm,
} from "../support/film.ts";
import { admin, invoke, sleep, waitFor } from "../support/stack.ts";

const LATENCIES = { llm: 150, image: 400, video: 1500, voice: 400, lipsync: 400, music: 800 };

interface RenderWorkers {
  supervisorPid: number | null;
  paused: boolean;
  workers: { slot: number; pid: number | null; ready: boolean; restarts: number }[];
}

const renderWorkers = () => admin("render-workers") as Promise<RenderWorkers>;
const livePids = async () =>
  (await renderWorkers()).workers.filter((w) => w.pid !== null && w.ready).map((w) => w.pid!);

let rig: FilmRig;

beforeAll(async () => {
  rig = await startFilmRig({ latencies: LATENCIES });
  await waitFor(async () => (await livePids()).length > 0, {
    timeoutMs: 60_000,
    what: "a supervised render worker",
  });
});
afterAll(async () => {
  await admin("render-workers/resume", {}).catch(() => {});
  if (rig) await rig.sql`update engine.settings set render_wait_alert_seconds = 60`;
  await rig?.close();
});

async function killRandomFunctionWorker(): Promise<boolean> {
  const alive = ((await admin("workers")).live as { function: string }[]).filter((w) =>
    FILM_FUNCTIONS.includes(w.function)
  );
  if (alive.length === 0) return false;
  const target = alive[Math.floor(Math.random() * alive.length)].function;
  const { killed } = await admin("workers/kill", { function: target }) as { killed: unknown[] };
  return killed.length > 0;
}

/** Every task of the owner that failed, with its error: none may have failed. */
const failedTasks = (userId: string) =>
  rig.sql`
  select kind, status, last_error from public.background_tasks
   where user_id = ${userId} and (status <> 'succeeded' or last_error ->> 'code' = 'worker_lost')`;

describe("render workers under kills", () => {
  it(
    "a film completes while its render worker is killed mid-job and function workers are killed at random",
    async () => {
      const shape: FilmShape = { scenes: 6, chains: [[2, 3], [5, 6]] };
      const owner = await filmUser(rig, shape, "Dry Dock");
      const firstPids = await livePids();
      const restartsBefore = (await renderWorkers()).workers.reduce((sum, w) => sum + w.restarts, 0);
      const { movieId } = await startFilm(owner, briefFor(shape, "Dry Dock"));
      const hit: { id: string; leaseExpiresAt: Date }[] = [];
      let functionKills = 0;
      let renderKills = 0;
      let done = false;
      while (!done) {
        await sleep(100 + Math.random() * 400);
        if (Math.random() < 0.5 && await killRandomFunctionWorker()) functionKills++;
        // The render worker dies only while it works on one of this film's jobs, so each kill leaves
        // a job behind that must be taken back; at most three, so the film also gets rendered.
        if (renderKills < 3) {
          // Jobs a live worker holds now (not those a killed one left behind and nobody took back yet).
          const running = await rig.sql`
          select b.id, b.lease_expires_at from public.background_tasks b
           where b.user_id = ${owner.id} and b.function_name is null and b.status = 'running' and b.lease_locked_at is not null
             and engine.lease_holder_alive(b)`;
          if (running.length > 0) {
            const { killed } = await admin("render-workers/kill", {}) as { killed: number[] };
            if (killed.length > 0) renderKills++;
            if (killed.length > 0) {
              hit.push(
                ...running.map((r) => ({ id: r.id as string, leaseExpiresAt: new Date(r.lease_expires_at) })),
              );
            }
          }
        }
        const [movie] = await rig.sql`select status from public.movies where id = ${movieId}`;
        done = !["pending", "processing"].includes(movie.status);
      }
      const movie = await waitForFilm(rig.sql, movieId, 300_000);
      await rig.checkEnvIntact();
      console.log(
        `render worker kills mid-job: ${renderKills} (jobs held: ${hit.length}); function worker kills: ${functionKills}`,
      );

      expect(movie.status, movie.error_message).toBe("completed");
      expect(renderKills, "the render worker was killed mid-job").toBeGreaterThan(0);
      expect(await failedTasks(owner.id)).toEqual([]);
      // Restarted: a new worker process claims now, and the supervisor counted the restarts.
      const after = await waitFor(async () => {
        const state = await renderWorkers();
        return state.workers.every((w) => w.ready) ? state : null;
      }, { timeoutMs: 60_000, what: "the restarted render worker" });
      expect(after.workers.map((w) => w.pid)).not.toEqual(firstPids);
      expect(after.workers.reduce((sum, w) => sum + w.restarts, 0) - restartsBefore).toBeGreaterThanOrEqual(
        renderKills,
      );
      // Taken back at once: each job the killed worker held ended before that worker's lease would have run out.
      for (const job of hit) {
        const [row] = await rig
          .sql`select status, finished_at from public.background_tasks where id = ${job.id}`;
        expect(row.status).toBe("succeeded");
        expect(new Date(row.finished_at).getTime(), `job ${job.id} waited for its dead holder's lease`)
          .toBeLessThan(job.leaseExpiresAt.getTime());
      }
    },
    420_000,
  );

  it(
    "with no render worker, status says the film waits on one, its waiting tasks hold no worker, and it completes once one is back",
    async () => {
      const shape: FilmShape = { scenes: 3, chains: [[2, 3]] };
      const owner = await filmUser(rig, shape, "Low Tide");
      await rig.sql`update engine.settings set render_wait_alert_seconds = 2`;
      await admin("render-workers/pause", {});
      await waitFor(async () => (await renderWorkers()).workers.every((w) => w.pid === null), {
        timeoutMs: 60_000,
        what: "render workers to stop",
      });

      const { movieId } = await startFilm(owner, briefFor(shape, "Low Tide"));
      const status = async () => {
        const answer = await invoke("produce-movie", { action: "status", movieId }, { token: owner.token });
        expect(answer.status, answer.text).toBe(200);
        return answer.json;
      };
      const stalled = await waitFor(async () => {
        const body = await status();
        return body.waiting?.on === "render_worker" ? body : null;
      }, { timeoutMs: 180_000, everyMs: 500, what: "status to report the render wait" });
      expect(stalled.waiting.message).toMatch(
        /^no render worker has picked up this film's rendering for \d+ s$/,
      );
      expect(stalled.waiting.jobs).toBeGreaterThan(0);
      expect(stalled.movie.status).toBe("processing");

      // The tasks waiting for render jobs are parked: no lease, so killing function workers now
      // cannot count against them.
      const parked = () =>
        rig.sql`
      select b.id, b.kind, b.status, b.lease_owner, b.stalls from engine.task_waits w
        join public.background_tasks b on b.id = w.waiter_id where b.user_id = ${owner.id}`;
      expect((await parked()).length).toBeGreaterThan(0);
      for (let kills = 0; kills < 5; kills++) {
        await killRandomFunctionWorker();
        await sleep(300);
      }
      const stillParked = await parked();
      expect(stillParked.length).toBeGreaterThan(0);
      for (const waiter of stillParked) {
        expect(waiter, "a parked waiter").toMatchObject({ status: "waiting", lease_owner: null, stalls: 0 });
      }

      await admin("render-workers/resume", {});
      const movie = await waitForFilm(rig.sql, movieId, 300_000);
      expect(movie.status, movie.error_message).toBe("completed");
      expect((await status()).waiting).toBeNull();
      expect(await failedTasks(owner.id)).toEqual([]);
      expect((await renderWorkers()).workers.every((w) => w.pid !== null)).toBe(true);
    },
    420_000,
  );
});
