/**
 * assemble start refuses a film the assembly would find no clip in (shared/film/assembly-rules.ts):
 * before anything is charged or enqueued, and without touching the film. The single-scene starts
 * (generate-scene-video, generate-audio) and assemble start each admit one open task per piece of
 * work: parallel starts of the same work are charged and enqueued once (shared/film/scene-actions.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initialSteps } from "../../shared/film/film-progress.ts";
import { connect, createUser, invoke, type Sql, type TestUser, waitFor } from "../support/stack.ts";

let sql: Sql;
let user: TestUser;

beforeAll(async () => {
  sql = connect();
  user = await createUser();
});
afterAll(() => sql.end());

/** A film cancelled before its first scene, as a start and an immediate cancel leave it. */
async function cancelledFilm() {
  const [{ id }] = await sql`
    insert into public.movies (user_id, title, prompt, genre, duration_minutes, status)
    values (${user.id}, 'Stopped', 'a prompt', 'drama', 0.5, 'cancelled') returning id`;
  await sql`
    insert into public.movie_creation_progress (movie_id, user_id, overall_status, current_step, steps)
    values (${id}, ${user.id}, 'cancelled', 'create_script', ${sql.json(initialSteps())})`;
  return id as string;
}

async function addScene(movieId: string, sceneNumber: number, status: string, videoUrl: string | null) {
  await sql`
    insert into public.movie_scenes (movie_id, user_id, scene_number, scene_id, location_name, location_slug, time_of_day, weather, duration_seconds, status, video_url)
    values (${movieId}, ${user.id}, ${sceneNumber}, ${`scene-${sceneNumber}`}, 'Harbour', 'harbour', 'day', 'clear', 5, ${status}, ${videoUrl})`;
}

/** Everything a refused start could have written: the charge, the task, the film and its progress. */
async function snapshot(movieId: string) {
  const [row] = await sql`
    select (select count(*) from public.usage_events where user_id = ${user.id})::int as usage,
           (select count(*) from public.background_tasks where user_id = ${user.id})::int as tasks,
           (select to_jsonb(m) from public.movies m where id = ${movieId}) as movie,
           (select to_jsonb(p) from public.movie_creation_progress p where movie_id = ${movieId}) as progress`;
  return row;
}

const assemble = (movieId: string) => invoke("assemble", { action: "start", movieId }, { token: user.token });

describe("assemble start", () => {
  it("refuses a film cancelled before any scene with 409 nothing_to_assemble, charging and changing nothing", async () => {
    const movieId = await cancelledFilm();
    const before = await snapshot(movieId);
    const refused = await assemble(movieId);
    expect(refused.status, refused.text).toBe(409);
    expect(refused.json.error).toEqual({
      code: "nothing_to_assemble",
      message: `Movie ${movieId} has nothing to assemble: no scene has a video yet`,
    });
    expect(await snapshot(movieId)).toEqual(before);
    expect(before).toMatchObject({ usage: 0, tasks: 0 });
  });

  it("refuses a film whose scenes failed or were completed without a usable video", async () => {
    const movieId = await cancelledFilm();
    await addScene(movieId, 1, "failed", null);
    await addScene(movieId, 2, "completed", "null");
    // Not yet completed: the assembly leaves out a clip still being made.
    await addScene(movieId, 3, "generating", "https://films.example/scene-3.mp4");
    const before = await snapshot(movieId);
    const refused = await assemble(movieId);
    expect(refused.status, refused.text).toBe(409);
    expect(refused.json.error.code).toBe("nothing_to_assemble");
    expect(refused.json.error.message).toBe(
      `Movie ${movieId} has nothing to assemble: none of its 3 scenes has a video yet`,
    );
    expect(await snapshot(movieId)).toEqual(before);
  });

  it("accepts the same film once one completed scene has its video", async () => {
    const movieId = await cancelledFilm();
    await addScene(movieId, 1, "failed", null);
    await addScene(movieId, 2, "completed", "https://films.example/scene-2.mp4");
    const started = await assemble(movieId);
    expect(started.status, started.text).toBe(202);
    await invoke("assemble", { action: "cancel", taskId: started.json.taskId }, { token: user.token });
  });
});

/** The film's tasks of `kind` and the user's usage rows, as a start could add to them. */
async function workOf(movieId: string, kind: string) {
  const [row] = await sql`
    select (select count(*) from public.usage_events where user_id = ${user.id})::int as usage,
           (select count(*) from public.background_tasks
             where user_id = ${user.id} and kind = ${kind} and payload ->> 'movieId' = ${movieId})::int as tasks`;
  return row as { usage: number; tasks: number };
}

const starts = [
  {
    fn: "generate-scene-video",
    kind: "film.chain",
    body: (movieId: string) => ({ movieId, sceneNumber: 1 }),
    payload: (movieId: string) => ({ movieId, scenes: [1] }),
  },
  {
    fn: "generate-audio",
    kind: "film.voices",
    body: (movieId: string) => ({ movieId, sceneNumber: 1 }),
    payload: (movieId: string) => ({ movieId, sceneNumber: 1 }),
  },
  {
    fn: "assemble",
    kind: "film.assemble",
    body: (movieId: string) => ({ movieId }),
    payload: (movieId: string) => ({ movieId }),
  },
];

describe.each(starts)("$fn start", ({ fn, kind, body, payload }) => {
  const start = (movieId: string) => invoke(fn, { action: "start", ...body(movieId) }, { token: user.token });
  const cancel = (taskId: string) => invoke(fn, { action: "cancel", taskId }, { token: user.token });

  it("refuses a start while the same work is open with 409 regeneration_in_progress naming its task, charging nothing", async () => {
    const movieId = await cancelledFilm();
    await addScene(movieId, 1, "completed", "https://films.example/scene-1.mp4");
    // The same work already in flight, as an earlier start, a production or regenerate-asset
    // enqueues it (payload as the action writes it), held queued: no doorbell, so nothing ends it.
    const [open] = await sql`
      select (engine.enqueue_task(p_user_id => ${user.id}, p_kind => ${kind}, p_function => ${fn},
                                  p_payload => ${sql.json(payload(movieId))}, p_dispatch => false)).id as id`;
    const before = await workOf(movieId, kind);
    const answer = await start(movieId);
    const where = fn === "assemble" ? "" : ", scene 1";
    expect([answer.status, answer.json.error]).toEqual([409, {
      code: "regeneration_in_progress",
      message:
        `Movie ${movieId}${where} already has ${kind} task ${open.id} open: follow it with status, or cancel it before starting again`,
    }]);
    expect(await workOf(movieId, kind)).toEqual(before);
    // The movie's id in capitals is the same work: before, each spelling was admitted and charged.
    const shouted = await start(movieId.toUpperCase());
    expect([shouted.status, shouted.json.error?.code]).toEqual([409, "regeneration_in_progress"]);
    expect(await workOf(movieId, kind)).toEqual(before);
    await sql`select engine.cancel_task(${open.id}, 'test')`;
  });

  it("refuses a start that waited on a resume of the film, charging nothing", async () => {
    const movieId = await cancelledFilm();
    await addScene(movieId, 1, "completed", "https://films.example/scene-1.mp4");
    const before = await workOf(movieId, kind);
    // A resume in flight: the film's row locked and put back in production, not yet committed. The
    // start reads the film idle, then waits for the row in its own transaction.
    const resume = connect(1);
    try {
      let answer: Awaited<ReturnType<typeof start>> | undefined;
      let pending: Promise<unknown> = Promise.resolve();
      await resume.begin(async (tx) => {
        const [{ pid }] = await tx`select pg_backend_pid() as pid`;
        await tx`select from public.movies where id = ${movieId} for update`;
        await tx`update public.movies set status = 'processing' where id = ${movieId}`;
        pending = start(movieId).then((a) => (answer = a));
        await waitFor(async () =>
          answer !== undefined ||
          (await sql`select 1 from pg_stat_activity where ${pid}::int = any (pg_blocking_pids(pid))`).length >
            0, {
          timeoutMs: 30_000,
          what: "the start to wait for the film's row",
        });
        expect(answer, "the start did not wait for the film's row").toBeUndefined();
      });
      // The resume committed: the start goes on.
      await pending;
      // Before: 202, a regeneration charged and run beside the resumed production.
      expect([answer!.status, answer!.json.error?.code]).toEqual([409, "movie_in_production"]);
      expect(await workOf(movieId, kind)).toEqual(before);
    } finally {
      await resume.end();
      await sql`update public.movies set status = 'cancelled' where id = ${movieId}`;
    }
  });

  it("refuses to resume a cancelled start while its work is open again or the film is in production, charging nothing", async () => {
    const movieId = await cancelledFilm();
    await sql`update public.movies set status = 'completed' where id = ${movieId}`;
    await addScene(movieId, 1, "completed", "https://films.example/scene-1.mp4");
    const enqueue = async () =>
      (await sql`
        select (engine.enqueue_task(p_user_id => ${user.id}, p_kind => ${kind}, p_function => ${fn},
                                    p_payload => ${
        sql.json(payload(movieId))
      }, p_dispatch => false)).id as id`)[0]
        .id as string;
    // A start cancelled by its owner, then the same work started again (held queued).
    const cancelled = await enqueue();
    await sql`select engine.cancel_task(${cancelled}, 'cancelled by owner')`;
    const open = await enqueue();
    const resume = () => invoke(fn, { action: "resume", taskId: cancelled }, { token: user.token });
    const unchanged = async () => ({
      work: await workOf(movieId, kind),
      task:
        (await sql`select status, resumes, fencing_token from public.background_tasks where id = ${cancelled}`)[
          0
        ],
    });
    const before = await unchanged();
    const busy = await resume();
    expect([busy.status, busy.json.error?.code]).toEqual([409, "regeneration_in_progress"]);
    expect(busy.json.error.message).toContain(`task ${open}`);
    expect(await unchanged()).toEqual(before);
    // The film made again (a script accept, a redo): its own pipeline makes this work now.
    await sql`select engine.cancel_task(${open}, 'test')`;
    await sql`update public.movies set status = 'processing' where id = ${movieId}`;
    const inProduction = await resume();
    expect([inProduction.status, inProduction.json.error?.code]).toEqual([409, "movie_in_production"]);
    expect(await unchanged()).toEqual(before);
    // Idle and with nothing else on that work, the resume is the start made again.
    await sql`update public.movies set status = 'completed' where id = ${movieId}`;
    const resumed = await resume();
    expect(resumed.status, resumed.text).toBe(202);
    await cancel(cancelled);
  });

  it("accepts the same start again once the first task has ended", async () => {
    const movieId = await cancelledFilm();
    await addScene(movieId, 1, "completed", "https://films.example/scene-1.mp4");
    const first = await start(movieId);
    expect(first.status, first.text).toBe(202);
    // Ended either way: cancelled, or failed by itself first (this film has no screenplay to film).
    const cancelled = await cancel(first.json.taskId);
    if (cancelled.status !== 200) expect(cancelled.json.error.code).toBe("task_finished");
    const [ended] = await sql`select status from public.background_tasks where id = ${first.json.taskId}`;
    expect(["cancelled", "failed"]).toContain(ended.status);
    const again = await start(movieId);
    expect(again.status, again.text).toBe(202);
    expect(again.json.taskId).not.toBe(first.json.taskId);
    await cancel(again.json.taskId);
  });
});
