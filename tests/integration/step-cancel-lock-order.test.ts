/**
 * A film's cancel and a step of one of its tasks take the same rows: the cancel locks the produce
 * task, then its open children, and at commit the movie's progress row and the movie
 * (public.movie_follows_its_task); a step locks its own task first (TaskStore.lockForStep), then
 * writes the film's progress (updateStep: progress row, then movie). Interleaved here at the
 * worst moment, each waits for the other to finish instead of deadlocking: Postgres would abort
 * one of them (40P01), and these transactions are not retried.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import postgres from "postgres";
import { connect, createUser, type Sql, stackEnv, waitFor } from "../support/stack.ts";
import { createTaskStore } from "../../shared/engine/task-store.ts";
import { createTaskContext } from "../../shared/engine/task-context.ts";
import { createSliceBudget } from "../../shared/engine/slice-budget.ts";
import { updateStep } from "../../shared/film/film-progress.ts";

let sql: Sql;
let userId: string;

beforeAll(async () => {
  sql = connect();
  userId = (await createUser(sql)).id;
});
afterAll(() => sql.end());

/** A processing film: its produce task, a claimed child of it, the movie and its progress row. */
async function filmWithRunningChild() {
  const [produce] = await sql`
    select id from engine.enqueue_task(p_user_id => ${userId}, p_kind => 'film.produce',
      p_function => 'produce-movie', p_dispatch => false)`;
  const childKind = `lockorder.child.${crypto.randomUUID()}`;
  await sql`
    select engine.enqueue_task(p_user_id => ${userId}, p_kind => ${childKind}, p_function => null,
      p_parent_id => ${produce.id}, p_dispatch => false)`;
  const [child] = await sql`select * from engine.claim_next_task(${[childKind]}, 'lock-order', 60)`;
  const [movie] = await sql`
    insert into public.movies (user_id, title, prompt, genre, duration_minutes, status, task_id)
    values (${userId}, 'Lock order', 'p', 'drama', 1, 'processing', ${produce.id}) returning id`;
  await sql`insert into public.movie_creation_progress (movie_id, user_id) values (${movie.id}, ${userId})`;
  return { produceId: produce.id as string, childId: child.id as string, movieId: movie.id as string };
}

/** Cancels the produce task on a connection of its own, without retrying a deadlock. */
function cancelOn(db: postgres.Sql, produceId: string) {
  return db.begin((tx) => tx`select engine.cancel_task(${produceId}, 'cancelled by test') as ok`)
    .then(([row]) => row.ok as boolean);
}

/** A promise and its resolve (Node 20 has no Promise.withResolvers). */
function signal() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function waitingOnLock(applicationName: string) {
  await waitFor(async () => {
    const [row] = await sql`
      select wait_event_type from pg_stat_activity where application_name = ${applicationName}`;
    return row?.wait_event_type === "Lock";
  }, { everyMs: 10, what: `${applicationName} to wait for a lock` });
}

describe("a film's cancel beside a step of its task", () => {
  it("waits for a step that has written the film's progress, and neither is aborted", async () => {
    const film = await filmWithRunningChild();
    const store = createTaskStore(sql);
    const task = (await store.get(film.childId))!;
    const ctx = createTaskContext({
      sql,
      store,
      task,
      steps: new Map(),
      budget: createSliceBudget({ workerStartedAt: Date.now(), wallClockMs: 150_000 }),
      leaseSeconds: 60,
    });
    const applicationName = `cancel-${crypto.randomUUID().slice(0, 8)}`;
    const canceller = postgres(stackEnv().DB_URL, {
      max: 1,
      connection: { application_name: applicationName },
    });
    try {
      const progressWritten = signal();
      const goOn = signal();
      const stepping = ctx.step("progress", async (tx) => {
        await updateStep(tx as never, film.movieId, "video", { status: "running", progress: 10 });
        progressWritten.resolve();
        await goOn.promise;
        return { wrote: true };
      });
      await progressWritten.promise;
      const cancelling = cancelOn(canceller, film.produceId);
      await waitingOnLock(applicationName);
      goOn.resolve();
      // The old order (effects first, the task row last) deadlocked here.
      expect(await stepping).toEqual({ wrote: true });
      expect(await cancelling).toBe(true);
    } finally {
      await canceller.end();
    }
    const [child] = await sql`select status from public.background_tasks where id = ${film.childId}`;
    expect(child.status).toBe("cancelled");
    const [step] = await sql`
      select status from public.background_task_steps where task_id = ${film.childId} and name = 'progress'`;
    expect(step.status).toBe("completed");
    const [movie] = await sql`
      select m.status, p.overall_status from public.movies m
        join public.movie_creation_progress p on p.movie_id = m.id where m.id = ${film.movieId}`;
    expect(movie).toEqual({ status: "cancelled", overall_status: "cancelled" });
  });

  it("takes the film's progress row before the movie at commit, the order a progress update takes them", async () => {
    const film = await filmWithRunningChild();
    const applicationName = `cancel-${crypto.randomUUID().slice(0, 8)}`;
    const canceller = postgres(stackEnv().DB_URL, {
      max: 1,
      connection: { application_name: applicationName },
    });
    const writer = await sql.reserve();
    try {
      // updateStep's one statement locks the progress row, then updates the movie; held open here
      // between the two.
      await writer`begin`;
      await writer`select from public.movie_creation_progress where movie_id = ${film.movieId} for update`;
      const cancelling = cancelOn(canceller, film.produceId);
      await waitingOnLock(applicationName);
      await writer`update public.movies set progress = 10 where id = ${film.movieId}`;
      await writer`commit`;
      expect(await cancelling).toBe(true);
    } finally {
      await writer`rollback`.catch(() => {});
      writer.release();
      await canceller.end();
    }
    const [movie] = await sql`select status, progress from public.movies where id = ${film.movieId}`;
    expect(movie).toEqual({ status: "cancelled", progress: 10 });
  });
});
