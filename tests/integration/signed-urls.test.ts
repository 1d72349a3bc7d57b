/**
 * Films are private: the media bucket does not serve an object at its public address;
 * produce-movie's status hands the owner signed URLs, which serve until they expire and not once
 * their token is altered. Objects are put in Storage with the service role, as the pipeline does.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, createUser, invoke, sleep, type Sql, type TestUser } from "../support/stack.ts";
import { removeUnder, stackStorage } from "../support/stack-storage.ts";

const BUCKET = "media";
let sql: Sql;
let owner: TestUser;
let movieId: string;
let folder: string;
const film = new TextEncoder().encode("the film's bytes");
const poster = new TextEncoder().encode("the poster's bytes");
const clip = new TextEncoder().encode("scene one's bytes");
const elsewhere = "https://cdn.provider.example/frames/last.png";

const storage = () => stackStorage(sql);
const bytesOf = async (response: Response) => new Uint8Array(await response.arrayBuffer());

beforeAll(async () => {
  sql = connect(2);
  owner = await createUser(sql);
  const [movie] = await sql`
    insert into public.movies (user_id, title, prompt, genre, duration_minutes, status) values (${owner.id}, 'Private', 'p', 'drama', 1, 'completed') returning id`;
  movieId = movie.id;
  folder = `films/${owner.id}/${movieId}`;
  const media = storage();
  await media.upload(BUCKET, `${folder}/film.mp4`, film, { contentType: "video/mp4" });
  await media.upload(BUCKET, `${folder}/poster.png`, poster, { contentType: "image/png" });
  await media.upload(BUCKET, `${folder}/scene 1.mp4`, clip, { contentType: "video/mp4" });
  const address = (name: string) => media.publicUrl(BUCKET, `${folder}/${name}`);
  await sql`update public.movies set video_url = ${address("film.mp4")}, poster_url = ${
    address("poster.png")
  }, thumbnail_url = ${address("poster.png")}
             where id = ${movieId}`;
  await sql`
    insert into public.movie_scenes (movie_id, user_id, scene_number, scene_id, location_name, location_slug, time_of_day, weather,
                                     duration_seconds, status, video_url, end_frame_url)
    values (${movieId}, ${owner.id}, 1, 's1', 'Harbour', 'harbour', 'night', 'rain', 5, 'completed', ${
    address("scene 1.mp4")
  }, ${elsewhere})`;
});

afterAll(async () => {
  await removeUnder(sql, BUCKET, folder);
  await sql`delete from auth.users where id = ${owner.id}`;
  await sql.end();
});

async function status() {
  const response = await invoke("produce-movie", { action: "status", movieId }, { token: owner.token });
  expect(response.status, JSON.stringify(response.json)).toBe(200);
  return response.json;
}

describe("private media and signed URLs", () => {
  it("keeps the media bucket private", async () => {
    const [bucket] = await sql`select public from storage.buckets where id = ${BUCKET}`;
    expect(bucket).toEqual({ public: false });
  });

  it("hands the owner signed URLs in status that serve the objects, with when they expire", async () => {
    const before = Date.now();
    const body = await status();
    const { movie, scenes } = body;
    expect(movie.videoUrl).toMatch(/\/storage\/v1\/object\/sign\/media\/films\/.+\/film\.mp4\?token=/);
    expect(movie.posterUrl).toMatch(/\/object\/sign\/media\/.+\/poster\.png\?token=/);
    expect(scenes[0].video_url).toMatch(/\/object\/sign\/media\/.+\/scene%201\.mp4\?token=/);
    // A URL elsewhere is not ours to sign.
    expect(scenes[0].end_frame_url).toBe(elsewhere);
    const expiresAt = Date.parse(body.urlsExpireAt);
    expect(expiresAt).toBeGreaterThan(before);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3600 * 1000);

    const served = await fetch(movie.videoUrl);
    expect(served.status).toBe(200);
    expect(await bytesOf(served)).toEqual(film);
    expect(await bytesOf(await fetch(movie.posterUrl))).toEqual(poster);
    expect(await bytesOf(await fetch(scenes[0].video_url))).toEqual(clip);
  });

  it("does not serve an object at its plain public address", async () => {
    const [row] = await sql`select video_url from public.movies where id = ${movieId}`;
    expect(row.video_url).toContain("/storage/v1/object/public/media/");
    const response = await fetch(row.video_url);
    expect(response.ok).toBe(false);
    expect(await bytesOf(response)).not.toEqual(film);
  });

  it("refuses a signed URL whose token or path was altered", async () => {
    const { movie } = await status();
    const url = new URL(movie.videoUrl);
    const token = url.searchParams.get("token")!;
    const [header, payload, signature] = token.split(".");
    // A different signature for the same claims.
    const flipped = `${signature.slice(0, -2)}${signature.at(-2) === "A" ? "B" : "A"}${signature.at(-1)}`;
    url.searchParams.set("token", [header, payload, flipped].join("."));
    const forged = await fetch(url);
    expect(forged.ok).toBe(false);
    expect(await bytesOf(forged)).not.toEqual(film);
    // The same valid token on another object's path.
    const moved = new URL(movie.videoUrl.replace("/film.mp4", "/poster.png"));
    const other = await fetch(moved);
    expect(other.ok).toBe(false);
    expect(await bytesOf(other)).not.toEqual(poster);
  });

  it("stops serving a signed URL once it has expired", async () => {
    const url = await storage().signedUrl(BUCKET, `${folder}/film.mp4`, 1);
    expect(url).toMatch(/\?token=/);
    // Token times are whole seconds: past 2 s the token is expired whatever the rounding.
    await sleep(2_100);
    const response = await fetch(url!);
    expect(response.ok).toBe(false);
    expect(await bytesOf(response)).not.toEqual(film);
  });
});
