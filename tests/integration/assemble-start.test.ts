/**
 * assemble start refuses a film the assembly would find no clip in (shared/film/assembly-rules.ts):
 * before anything is charged or enqueued, and without touching the film.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initialSteps } from "../../shared/film/film-progress.ts";
import { connect, createUser, invoke, type Sql, type TestUser } from "../support/stack.ts";

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
