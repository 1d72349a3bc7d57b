import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderInputError } from "../../shared/providers/provider-errors.ts";
import type { RenderRequest, Timeline } from "../../shared/providers/types.ts";
import { runRenderJob } from "../../shared/render/render-job.ts";
import { createWorkerLoop } from "../../shared/worker/worker-loop.ts";
import { createWorkerRenderProvider } from "../../shared/providers/worker/worker-render-provider.ts";
import {
  download,
  durationOf,
  makeClip,
  makeTone,
  publish,
  soundOnsetSeconds,
} from "../support/render-media.ts";
import {
  connect,
  createUser,
  type Sql,
  stackEnv,
  taskRow,
  waitFor,
  waitForStatus,
} from "../support/stack.ts";
import { ensureBucket, stackStorage } from "../support/stack-storage.ts";

const REPO = join(import.meta.dirname!, "..", "..");
const run = `render-worker-${crypto.randomUUID().slice(0, 8)}`;
let sql: Sql;
let userId: string;
let dir: string;
let clipUrls: string[];
let lineUrl: string;

beforeAll(async () => {
  sql = connect();
  userId = (await createUser(sql)).id;
  dir = mkdtempSync(join(tmpdir(), "render-worker-"));
  await ensureBucket("renders");
  const clips = [0, 1].map((i) =>
    makeClip(dir, `clip-${i}.mp4`, { seconds: 2, audio: "silent", size: "320x180" })
  );
  clipUrls = await Promise.all(clips.map((file, i) => ownInput(file, `clip-${i}.mp4`, "video/mp4")));
  lineUrl = await ownInput(makeTone(dir, "line.wav", 0.5, 1000, -6), "line.wav", "audio/wav");
});
afterAll(async () => {
  await sql.end();
  rmSync(dir, { recursive: true, force: true });
});

const storage = () => stackStorage(sql);
/** Inputs go in the job owner's folder of the media bucket: a worker job reads its owner's objects only. */
const ownInput = (file: string, name: string, contentType: string) =>
  publish(file, "media", `films/${userId}/${run}/${name}`, contentType);

describe("the worker-backed render provider", () => {
  it("renders a submitted timeline through a worker and polls its URL", async () => {
    // The stack's render worker may claim it too; either way it is the same loop and handler.
    const loop = createWorkerLoop({
      sql,
      storage: storage(),
      handlers: { render: runRenderJob },
      pollMs: 100,
      log: () => {},
    });
    loop.start();
    try {
      const provider = createWorkerRenderProvider({ sql, userId, concurrencyKey: `render:${run}` });
      const timeline: Timeline = {
        fps: 24,
        width: 320,
        height: 180,
        clips: clipUrls.map((url) => ({ url, inFrame: 0, outFrame: 48 })),
        dialogue: [{ url: lineUrl, startFrame: 30 }],
      };
      const jobId = await provider.submit({
        op: "assemble",
        timeline,
        output: { bucket: "renders", path: `${run}/e2e.mp4` },
      });
      const state = await waitFor(async () => {
        const s = await provider.poll(jobId);
        return s.state === "succeeded" || s.state === "failed" ? s : null;
      }, { timeoutMs: 60_000, what: "the render job to end" });
      expect(state.state).toBe("succeeded");
      const output = (state as { output: { url: string; durationSeconds: number } }).output;
      expect(output.url).toBe(`${stackEnv().API_URL}/storage/v1/object/public/renders/${run}/e2e.mp4`);
      const file = await download(output.url, join(dir, "e2e.mp4"));
      expect(Math.abs(durationOf(file) - 4)).toBeLessThanOrEqual(1 / 24);
      expect(Math.abs(soundOnsetSeconds(file) - 30 / 24)).toBeLessThanOrEqual(0.02);
    } finally {
      await loop.stop();
    }
  });

  it("refuses a bad timeline at submit, before any task exists", async () => {
    const provider = createWorkerRenderProvider({ sql, userId });
    const request = {
      op: "assemble",
      timeline: {
        fps: 24,
        width: 320,
        height: 180,
        clips: [{ url: clipUrls[0], inFrame: 0, outFrame: 48, transition: { type: "dissolve", frames: 12 } }],
        dialogue: [],
      },
      output: { bucket: "renders", path: `${run}/bad.mp4` },
    } as RenderRequest;
    const [{ before }] =
      await sql`select count(*)::int as before from public.background_tasks where user_id = ${userId}`;
    await expect(provider.submit(request)).rejects.toThrow(ProviderInputError);
    await expect(provider.submit(request)).rejects.toThrow(
      /clips\[0\]\.transition: the last clip has no next clip to dissolve into/,
    );
    const [{ after }] =
      await sql`select count(*)::int as after from public.background_tasks where user_id = ${userId}`;
    expect(after).toBe(before);
  });
});

describe("a render worker killed mid-job", () => {
  function startWorker(kind: string, workerId: string): ChildProcess {
    const env = {
      ...process.env,
      STACK_ENV_FILE: join(REPO, ".stack", "env.json"),
      RENDER_TEST_KIND: kind,
      RENDER_TEST_WORKER_ID: workerId,
      RENDER_TEST_LEASE_SECONDS: "3",
    };
    const deno = join(REPO, "node_modules", ".bin", "deno");
    return spawn(deno, [
      "run",
      "-A",
      "--config",
      join(REPO, "deno.json"),
      join(REPO, "tests", "fixtures", "render-worker-for-kind.ts"),
    ], { env, detached: true, stdio: "ignore" });
  }

  it("loses the job to another worker once its lease expires, and the job completes exactly once", async () => {
    const kind = `render.kill.${crypto.randomUUID()}`;
    // Re-encoding 6 s of 640x360 with dissolves keeps the first worker busy for a few seconds.
    const big = [0, 1, 2].map((i) =>
      makeClip(dir, `big-${i}.mp4`, { seconds: 2, size: "640x360", audio: "silent", source: "mandelbrot" })
    );
    const urls = await Promise.all(big.map((f, i) => ownInput(f, `big-${i}.mp4`, "video/mp4")));
    const timeline: Timeline = {
      fps: 24,
      width: 640,
      height: 360,
      clips: urls.map((url, i) => ({
        url,
        inFrame: 0,
        outFrame: 48,
        transition: i < 2 ? { type: "dissolve", frames: 12 } : undefined,
      })),
      dialogue: [],
    };
    const payload = { op: "assemble", timeline, output: { bucket: "renders", path: `${run}/killed.mp4` } };
    const [{ id }] = await sql`
      select id from engine.enqueue_task(p_user_id => ${userId}, p_kind => ${kind}, p_function => null,
                                         p_payload => ${sql.json(payload)}, p_max_attempts => 3)`;
    const first = startWorker(kind, "doomed-worker");
    let second: ChildProcess | null = null;
    try {
      const claimed = await waitFor(async () => {
        const row = await taskRow(sql, id);
        return row.status === "running" && row.lease_owner === "doomed-worker" ? row : null;
      }, { timeoutMs: 30_000, what: "the first worker to claim the job" });
      await new Promise((resolve) => setTimeout(resolve, 700)); // into FFmpeg
      process.kill(-first.pid!, "SIGKILL"); // the worker and its FFmpeg child, like a lost machine
      second = startWorker(kind, "rescue-worker");
      const done = await waitForStatus(sql, id, ["succeeded", "failed"], 60_000);
      expect(done.status).toBe("succeeded");
      // One claim past the dead worker's, or two when the sweeper put the abandoned job back in the
      // queue before the rescue claimed it (engine.requeue_abandoned moves the token too): a fresh
      // run met the second (token + 2), so exactly + 1 was a race with pg_cron's schedule.
      expect(Number(done.fencing_token) - Number(claimed.fencing_token)).toBeGreaterThanOrEqual(1);
      expect(Number(done.fencing_token) - Number(claimed.fencing_token)).toBeLessThanOrEqual(2);
      expect(done.attempts).toBe(0); // a lost worker is not a failed attempt
      // The dead worker's token can no longer write anything.
      const [{ ok }] =
        await sql`select engine.complete_task(${id}, ${claimed.fencing_token}::bigint, '{"zombie":true}', '{}') as ok`;
      expect(ok).toBe(false);
      expect((await taskRow(sql, id)).result.zombie).toBeUndefined();
      const file = await download(done.result.url, join(dir, "killed.mp4"));
      expect(Math.abs(durationOf(file) - 120 / 24)).toBeLessThanOrEqual(1 / 24);
    } finally {
      try {
        process.kill(-first.pid!, "SIGKILL");
      } catch { /* already dead */ }
      if (second) process.kill(-second.pid!, "SIGTERM");
    }
  });
});

describe("a worker's slots", () => {
  it("claim together what they ask for at once, and end their jobs without waiting for the writes", async () => {
    const kind = `worker.gather.${crypto.randomUUID()}`;
    await sql`
      select engine.enqueue_task(p_user_id => ${userId}, p_kind => ${kind}, p_function => null, p_dispatch => false)
        from generate_series(1, 12)`;
    const loop = createWorkerLoop({
      sql,
      storage: storage(),
      handlers: { [kind]: (payload) => Promise.resolve({ ok: true, payload }) },
      workerId: `gather-${run}`,
      concurrency: 4,
      pollMs: 100,
      log: () => {},
    });
    loop.start();
    try {
      await waitFor(async () => {
        const [{ n }] = await sql`
          select count(*)::int as n from public.background_tasks where kind = ${kind} and status = 'succeeded'`;
        return n === 12;
      }, { timeoutMs: 20_000, what: "the slots to run the twelve jobs" });
    } finally {
      await loop.stop();
    }
    // now() is the transaction's start: jobs claimed (or ended) in one call share the instant.
    const jobs = await sql`
      select started_at, fencing_token::int as token, result from public.background_tasks
       where kind = ${kind} order by started_at, created_at`;
    // The four slots ask at once as the loop starts: the first ask goes alone, the three made
    // while it was in flight go together in the next call.
    const firstCalls = [...new Set(jobs.slice(0, 4).map((job) => job.started_at.getTime()))];
    expect(firstCalls).toHaveLength(2);
    expect(jobs.filter((job) => job.started_at.getTime() === firstCalls[1])).toHaveLength(3);
    expect(jobs.map((job) => job.token)).toEqual(Array(12).fill(1));
    // Each job's own result, written by the gathered ends.
    expect(jobs.every((job) => job.result.ok === true && typeof job.result.payload === "object")).toBe(true);
  });
});
