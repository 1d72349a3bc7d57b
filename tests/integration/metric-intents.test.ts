/**
 * A paid step's intent (movie_step_metrics, phase `intent`) is written only while its task runs:
 * one that raced its task's cancel stayed `intent` for good, and status counted the step in
 * flight, its time growing (a probe cancelled films as their voices started: 5 of 8 kept one).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordIntent } from "../../shared/film/film-metrics.ts";
import { FencedOutError } from "../../shared/errors.ts";
import type { Sql as SharedSql } from "../../shared/db/client.ts";
import {
  connect,
  createUser,
  namedConnection,
  type Sql,
  type TestUser,
  waitFor,
  waitsOnLock,
} from "../support/stack.ts";

let sql: Sql;
let owner: TestUser;
let movieId: string;

beforeAll(async () => {
  sql = connect();
  owner = await createUser(sql);
  [{ id: movieId }] = await sql`
    insert into public.movies (user_id, title, prompt, genre, duration_minutes, status)
    values (${owner.id}, 'Intents', 'a prompt', 'drama', 1, 'processing') returning id`;
});
afterAll(() => sql.end());

/** A task of the owner's, claimed: running, as a slice's own task is while it records an intent. */
async function runningTask(): Promise<string> {
  const kind = `intents.${crypto.randomUUID()}`;
  await sql`select engine.enqueue_task(p_user_id => ${owner.id}, p_kind => ${kind}, p_function => null, p_dispatch => false)`;
  const [task] = await sql`select id from engine.claim_next_task(${[kind]}, 'test-intents', 30)`;
  return task.id as string;
}

const key = (taskId: string, stepName: string) => ({
  movieId,
  userId: owner.id,
  step: "generate_audio",
  sceneNumber: 1,
  taskId,
  stepName,
  provider: "elevenlabs",
  model: "eleven_multilingual_v2",
});
const intents = async (
  taskId: string,
) => (await sql`select step_name, phase from public.movie_step_metrics where task_id = ${taskId} order by step_name`);
const db = () => sql as unknown as SharedSql;

describe("a paid step's intent", () => {
  it("is recorded while its task runs", async () => {
    const task = await runningTask();
    await recordIntent(db(), key(task, "line-0"));
    expect(await intents(task)).toEqual([{ step_name: "line-0", phase: "intent" }]);
  });

  it("is refused, and nothing recorded, once its task was cancelled", async () => {
    const task = await runningTask();
    await sql`select engine.cancel_task(${task}, 'cancelled by the test')`;
    await expect(recordIntent(db(), key(task, "line-0"))).rejects.toBeInstanceOf(FencedOutError);
    expect(await intents(task)).toEqual([]);
  });

  it("racing its task's cancel, waits for it and records nothing", async () => {
    const task = await runningTask();
    const cancel = await sql.reserve();
    let recording: Promise<unknown>;
    try {
      await cancel`begin`;
      await cancel`select engine.cancel_task(${task}, 'cancelled by the owner')`;
      recording = recordIntent(db(), key(task, "line-0")).then(() => "recorded", (error) => error);
      // Before: the insert went through at once, beside the cancel, and outlived it as `intent`.
      const first = await Promise.race([
        recording.then((outcome) => `ended before the cancel committed: ${outcome}`),
        waitFor(
          async () =>
            (await sql`
              select 1 from pg_stat_activity
               where wait_event_type = 'Lock' and query like '%background_tasks%for update%'`).length > 0 ||
            null,
          { timeoutMs: 30_000, what: "the intent to wait for the cancel" },
        ).then(() => "waiting"),
      ]);
      expect(first).toBe("waiting");
      await cancel`commit`;
    } finally {
      cancel.release();
    }
    expect(await recording!).toBeInstanceOf(FencedOutError);
    expect(await intents(task)).toEqual([]);
  });

  it("in two steps of one task at once, as two lines refused by the film's cap: one waits, neither deadlocks", async () => {
    // Each step records its line's intent, then ends (engine.complete_step, which locks the task's
    // row for update). With the intent's lock a share lock, both steps held it and each end waited
    // for the other: Postgres aborted one (40P01), and its slice failed once.
    const task = await runningTask();
    const [{ token }] =
      await sql`select fencing_token::text as token from public.background_tasks where id = ${task}`;
    const first = namedConnection("intent-a");
    const second = namedConnection("intent-b");
    try {
      const step = (conn: typeof first, line: string) =>
        conn.db.begin(async (tx) => {
          await recordIntent(tx as unknown as SharedSql, key(task, line));
          await tx`select engine.complete_step(${task}, ${token}::bigint, ${line}, 'false')`;
        });
      let releaseFirst!: () => void;
      const firstHolds = new Promise<void>((resolve) => (releaseFirst = resolve));
      const firstStep = first.db.begin(async (tx) => {
        await recordIntent(tx as unknown as SharedSql, key(task, "line-0"));
        await firstHolds;
        await tx`select engine.complete_step(${task}, ${token}::bigint, 'line-0', 'false')`;
      });
      let settled = false;
      const secondStep = step(second, "line-1").finally(() => (settled = true));
      secondStep.catch(() => {});
      await waitFor(async () => settled || await waitsOnLock(sql, second.applicationName), {
        everyMs: 10,
        what: "the second step to wait or end",
      });
      releaseFirst();
      await firstStep;
      await secondStep;
    } finally {
      await first.db.end();
      await second.db.end();
    }
    const steps =
      await sql`select name from public.background_task_steps where task_id = ${task} order by name`;
    expect(steps.map((s) => s.name)).toEqual(["line-0", "line-1"]);
    expect(await intents(task)).toEqual([
      { step_name: "line-0", phase: "intent" },
      { step_name: "line-1", phase: "intent" },
    ]);
  });

  it("opened again for a new attempt, is billed as the provider it runs on now", async () => {
    const task = await runningTask();
    // The first attempt, on the owner's own Runway key, closed without a job (a bad key, a cancel).
    const [own] = await sql`
      insert into public.api_providers (user_id, provider_type, provider, model)
      values (${owner.id}, 'video', 'runway', 'gen4.5') returning id`;
    const video = (model: string) => ({ ...key(task, "s1:video"), provider: "runway", model });
    await recordIntent(db(), video("gen4.5"));
    await sql`update public.movie_step_metrics set phase = 'failed', finished_at = now() where task_id = ${task}`;
    // The owner went back to the project's Runway; the resumed step records its intent again.
    await sql`update public.api_providers set is_active = false where id = ${own.id}`;
    await recordIntent(db(), video("gen4_turbo"));
    // Before: still `user`, gen4.5, so the job on the project's key counted nothing.
    expect(await sql`select phase, model, billed_to from public.movie_step_metrics where task_id = ${task}`)
      .toEqual([{ phase: "intent", model: "gen4_turbo", billed_to: "project" }]);
  });

  it("is billed to whom its adapter says, whatever rows of that provider the owner has", async () => {
    const task = await runningTask();
    // The owner renders on their own fal key; their images are made on the project's fal key.
    await sql`
      insert into public.api_providers (user_id, provider_type, provider, model)
      values (${owner.id}, 'render', 'fal', 'fal-ai/ffmpeg-api')`;
    const image = {
      ...key(task, "cover"),
      step: "generate_cover",
      provider: "fal",
      model: "fal-ai/flux/schnell",
    };
    await recordIntent(db(), { ...image, paidBy: "project" });
    await recordIntent(db(), {
      ...key(task, "render"),
      provider: "fal",
      model: "fal-ai/ffmpeg-api",
      paidBy: "user",
    });
    // A row written without a payer (by hand) is still classified from the registry.
    await recordIntent(db(), { ...image, stepName: "by-hand" });
    // Before: the cover billed to the owner, counted in nobody's cost units.
    expect(
      await sql`select step_name, billed_to from public.movie_step_metrics where task_id = ${task} order by step_name`,
    )
      .toEqual([
        { step_name: "by-hand", billed_to: "user" },
        { step_name: "cover", billed_to: "project" },
        { step_name: "render", billed_to: "user" },
      ]);
  });
});
