/**
 * Reassemblies of one film may finish out of order (an accepted clip and an accepted line, each
 * with its film.assemble): the film in place is the one made from the latest reading of its
 * scenes (shared/film/postproduction.ts applyAssembly), on the real database.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyAssembly } from "../../shared/film/postproduction.ts";
import { connect, createUser, type Sql } from "../support/stack.ts";

let sql: Sql;
let movieId: string;

beforeAll(async () => {
  sql = connect();
  const user = await createUser(sql);
  const [movie] = await sql`
    insert into public.movies (user_id, title, prompt, genre, duration_minutes, status)
    values (${user.id}, 'Order', 'p', 'g', 1, 'completed') returning id`;
  movieId = movie.id;
});
afterAll(async () => {
  await sql.end();
});

describe("a film's reassemblies finishing out of order", () => {
  it("keep the film read last: an older reading that finishes later changes nothing", async () => {
    const [{ early, late, later }] = await sql`
      select (now() - interval '2 seconds')::text as early, now()::text as late, (now() + interval '1 second')::text as later`;
    expect(await applyAssembly(sql, movieId, "https://films.example/late.mp4", late)).toBe(true);
    expect(await applyAssembly(sql, movieId, "https://films.example/early.mp4", early)).toBe(false);
    const [kept] = await sql`select video_url, metadata from public.movies where id = ${movieId}`;
    expect(kept.video_url).toBe("https://films.example/late.mp4");
    expect(new Date(kept.metadata.assembled_from).getTime()).toBe(new Date(late).getTime());
    expect(await applyAssembly(sql, movieId, "https://films.example/later.mp4", later)).toBe(true);
    const [now] = await sql`select video_url from public.movies where id = ${movieId}`;
    expect(now.video_url).toBe("https://films.example/later.mp4");
  });
});
