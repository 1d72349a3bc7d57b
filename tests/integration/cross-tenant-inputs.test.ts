/**
 * Another tenant's private object named in what a task is handed — a worker job's input, a
 * provider's output, a search result — is never read with the service role for the caller
 * (shared/storage/owner-objects.ts, `taskObjects`). Before, each one was: the render worker made
 * the caller's clip from the other tenant's picture, a regenerated cover was a copy of their
 * poster, and a found location image was their object, kept as the caller's.
 *
 * A tenant cannot type an address into a job (drafts carry no URL), but a provider's or a search's
 * answer is a third party's word: a server speaking fal's queue and Openverse's search answers
 * with the other tenant's address here.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalVideoProvider } from "../../shared/providers/local/local-job-providers.ts";
import { solidPng } from "../../shared/providers/local/solid-png.ts";
import { type FakeServer, startFakeServer } from "../fakes/fake-server.ts";
import { filmAnswers, type FilmShape } from "../support/film-script.ts";
import {
  briefFor,
  type FilmRig,
  filmUser,
  QUICK_LATENCIES,
  registerFakeSearch,
  startFilm,
  startFilmRig,
  waitForFilm,
} from "../support/film.ts";
import { createUser, invoke, type TestUser, waitFor, waitForStatus } from "../support/stack.ts";
import { bytesAtAddress, stackStorage } from "../support/stack-storage.ts";

const SHAPE: FilmShape = { scenes: 2, chains: [] };
/** The other tenant's poster: a colour no film of the fakes or the local providers makes. */
const THEIR_COLOUR: [number, number, number] = [255, 0, 255];

let rig: FilmRig;
let hostile: FakeServer;
let dir: string;
/** What the hostile provider answers: its image's URL. */
let answerUrl = "";
let theirPoster: Buffer;
let theirs: string;
let theirMissing: string;

/** Sends `providers` to the hostile server for `run`, then back to the fakes. */
async function hostileFor<T>(providers: ("fal" | "openverse")[], run: () => Promise<T>): Promise<T> {
  const urls = { ...rig.fakes.baseUrls(), ...Object.fromEntries(providers.map((p) => [p, hostile.baseUrl])) };
  await rig.setEnv({ REELFORGE_PROVIDER_BASE_URLS: JSON.stringify(urls) });
  try {
    return await run();
  } finally {
    await rig.setEnv({ REELFORGE_PROVIDER_BASE_URLS: JSON.stringify(rig.fakes.baseUrls()) });
  }
}

/** fal's queue (an image job that completes at once) and Openverse's search, both answering `answerUrl`. */
async function startHostileProvider(): Promise<FakeServer> {
  const server = await startFakeServer();
  server.route("POST /fal-ai/flux/:model", () => ({ body: { request_id: crypto.randomUUID() } }));
  server.route("GET /fal-ai/flux/requests/:id/status", () => ({ body: { status: "COMPLETED" } }));
  server.route("GET /fal-ai/flux/requests/:id", () => ({
    body: { images: [{ url: answerUrl, content_type: "image/png" }], has_nsfw_concepts: [false] },
  }));
  server.route("POST /v1/auth_tokens/token/", () => ({
    body: { access_token: crypto.randomUUID(), token_type: "Bearer", expires_in: 36_000 },
  }));
  server.route("GET /v1/images/", () => ({
    body: {
      result_count: 1,
      results: [{
        url: answerUrl,
        foreign_landing_url: "https://example.org/lighthouse",
        creator: "Someone",
        license: "cc0",
        license_version: "1.0",
        license_url: "https://creativecommons.org/publicdomain/zero/1.0/",
        attribution: "Lighthouse, CC0",
        width: 1280,
        height: 720,
      }],
    },
  }));
  return server;
}

/** The mean colour of a video's middle frame (or an image), 0..255 per channel. */
function meanColour(bytes: Buffer, name: string): number[] {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  const raw = execFileSync("ffmpeg", [
    "-v",
    "error",
    "-i",
    file,
    "-vf",
    "scale=1:1:flags=area",
    "-frames:v",
    "1",
    "-f",
    "rawvideo",
    "-pix_fmt",
    "rgb24",
    "-",
  ]);
  return Array.from(raw.subarray(0, 3));
}

const isTheirColour = (rgb: number[]) => rgb.every((c, i) => Math.abs(c - THEIR_COLOUR[i]) <= 24);

beforeAll(async () => {
  rig = await startFilmRig({ latencies: QUICK_LATENCIES });
  hostile = await startHostileProvider();
  dir = mkdtempSync(join(tmpdir(), "cross-tenant-inputs-"));
  const stranger = await createUser(rig.sql);
  const storage = stackStorage();
  const folder = `films/${stranger.id}/${crypto.randomUUID()}`;
  theirPoster = Buffer.from(await solidPng(1280, 720, THEIR_COLOUR));
  await storage.upload("media", `${folder}/poster.png`, theirPoster, { contentType: "image/png" });
  theirs = storage.publicUrl("media", `${folder}/poster.png`);
  theirMissing = storage.publicUrl("media", `${folder}/never-made.png`);
}, 60_000);

afterAll(async () => {
  await hostile?.close();
  await rig?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("a worker job handed another tenant's object", () => {
  it(
    "fails input_not_yours without reading it, the same whether it exists; the owner's own object is read",
    async () => {
      const owner = await createUser(rig.sql);
      const ownPath = `films/${owner.id}/${crypto.randomUUID()}/own.png`;
      await stackStorage().upload("media", ownPath, await solidPng(320, 180, [0, 90, 0]), {
        contentType: "image/png",
      });
      const own = stackStorage().publicUrl("media", ownPath);
      // What the offline video provider enqueues for a scene whose reference image is `promptImage`.
      const video = createLocalVideoProvider({ sql: rig.sql, userId: owner.id });
      const ended = async (promptImage: string) => {
        const jobId = await video.submit({
          promptText: "A lighthouse",
          promptImage,
          ratio: "320:180",
          durationSeconds: 1,
        });
        return await waitForStatus(rig.sql, jobId, ["succeeded", "failed"], 60_000);
      };
      const [existing, missing, mine] = [await ended(theirs), await ended(theirMissing), await ended(own)];
      // Before: succeeded, a clip of the other tenant's poster in the owner's folder.
      expect(existing.status, JSON.stringify(existing.result)).toBe("failed");
      expect(existing.last_error.code).toBe("input_not_yours");
      expect(missing.status).toBe("failed");
      expect(missing.last_error).toEqual(existing.last_error);
      expect(mine.status, JSON.stringify(mine.last_error)).toBe("succeeded");
    },
    120_000,
  );
});

describe("a provider's output that names another tenant's object", () => {
  let owner: TestUser;
  let movieId: string;

  beforeAll(async () => {
    owner = await filmUser(rig, SHAPE, "Borrowed Light");
    ({ movieId } = await startFilm(owner, briefFor(SHAPE, "Borrowed Light")));
    const movie = await waitForFilm(rig.sql, movieId, 180_000);
    expect(movie.status, movie.error_message).toBe("completed");
  }, 240_000);

  async function regenerateCover(prompt: string) {
    const start = await invoke("regenerate-asset", {
      action: "start",
      kind: "cover",
      target: { movieId },
      draft: { prompt },
    }, { token: owner.token });
    expect(start.status, start.text).toBe(202);
    return await waitFor(async () => {
      const [run] = await rig.sql`select * from public.asset_runs where id = ${start.json.runId}`;
      return run.status !== "running" ? run : null;
    }, { timeoutMs: 60_000, what: "the cover run to end" });
  }

  it("fails the regeneration instead of copying it into the caller's preview", async () => {
    const [existing, missing] = await hostileFor(["fal"], async () => {
      answerUrl = theirs;
      const existing = await regenerateCover("A lighthouse in borrowed light");
      answerUrl = theirMissing;
      return [existing, await regenerateCover("A lighthouse in borrowed light, again")];
    });
    if (existing.preview_asset_id) {
      // Before: the preview was the other tenant's poster, byte for byte, signed for the caller by status.
      const [asset] = await rig
        .sql`select public_url from public.assets where id = ${existing.preview_asset_id}`;
      expect((await bytesAtAddress(asset.public_url)).bytes.equals(theirPoster)).toBe(false);
    }
    expect(existing.status).toBe("failed");
    expect(existing.error).toMatch(/not the owner's/);
    expect(missing.status).toBe("failed");
    expect(missing.error).toBe(existing.error);
  }, 120_000);
});

describe("a search result that names another tenant's object", () => {
  it("is refused, and the film's location image and clips are its own", async () => {
    const title = "Borrowed Rocks";
    const owner = await filmUser(rig, SHAPE, title, ["llm", "audio"]);
    await registerFakeSearch(owner);
    // The offline video provider (the render worker fetches each scene's reference image), and
    // images of the sizes it asks for.
    for (const providerType of ["video", "image"]) {
      const local = await invoke("providers", {
        action: "register",
        providerType,
        provider: "local",
        model: "local",
      }, { token: owner.token });
      expect(local.status, local.text).toBe(201);
    }
    const answers = filmAnswers(SHAPE, title);
    rig.fakes.openai.answerWith((schemaName) => {
      const answer = answers(schemaName) as { locations?: { location_id: string }[] };
      if (schemaName !== "production_plan") return answer;
      return {
        ...answer,
        locations: answer.locations!.map((l) => ({ ...l, needs_web_search: l.location_id === "lighthouse" })),
      };
    });
    answerUrl = theirs;
    const movie = await hostileFor(["openverse"], async () => {
      const { movieId } = await startFilm(owner, briefFor(SHAPE, title));
      return await waitForFilm(rig.sql, movieId, 180_000);
    });
    expect(movie.status, movie.error_message).toBe("completed");
    const [lighthouse] = await rig.sql`
      select * from public.location_images where user_id = ${owner.id} and location_slug = 'lighthouse'`;
    // Before: the other tenant's address, kept as the caller's found image (image_origin web_search).
    expect(lighthouse.image_url).not.toBe(theirs);
    expect(lighthouse).toMatchObject({ image_origin: "generated" });
    expect(lighthouse.search_note).toMatch(/not the owner's/);
    // Before: the local video job was handed it and the render worker read it with the service role.
    const [{ n }] = await rig.sql`
      select count(*)::int as n from public.background_tasks
       where user_id = ${owner.id} and payload::text like ${`%${theirs}%`}`;
    expect(n).toBe(0);
    const clips = await rig.sql`
      select status, clip_url from public.movie_scenes where movie_id = ${movie.id} order by scene_number`;
    expect(clips.map((c) => c.status)).toEqual(["completed", "completed"]);
    for (const [i, clip] of clips.entries()) {
      expect(isTheirColour(meanColour((await bytesAtAddress(clip.clip_url)).bytes, `clip-${i}.mp4`))).toBe(
        false,
      );
    }
  }, 240_000);
});
