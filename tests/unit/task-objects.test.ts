/**
 * Reads with the service role for a task reach its owner's objects only (owner-objects.ts
 * `taskObjects`): the render worker's inputs, a provider's output kept or copied, a search's
 * candidate. Another tenant's object is refused from its address alone, before any read, so the
 * refusal is the same whether it exists. A worker job with an owner reads nothing but objects of
 * ours; one the service role enqueued may fetch a URL elsewhere.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PreviewFailure, storeVersioned } from "../../shared/assets/asset-preview-file.ts";
import type { TaskContext } from "../../shared/engine/task-context.ts";
import { PermanentTaskError } from "../../shared/errors.ts";
import type { FilmEnv } from "../../shared/film/film-env.ts";
import { searchLocationImage } from "../../shared/film/location-search.ts";
import { isSceneFailure } from "../../shared/film/scene-failure.ts";
import { storeOutput } from "../../shared/film/store-output.ts";
import { ProviderError } from "../../shared/providers/provider-errors.ts";
import type { ImageSearchResult } from "../../shared/providers/types.ts";
import { readableObject, taskObjects } from "../../shared/storage/owner-objects.ts";
import { createJobIo } from "../../shared/worker/worker-job-io.ts";
import { createMemoryStorage } from "../fakes/memory-storage.ts";

const OWNER = "11111111-1111-4111-8111-111111111111";
const OTHER = "22222222-2222-4222-8222-222222222222";
const storage = createMemoryStorage();
const bytes = new TextEncoder().encode("picture");
const address = (path: string, bucket = "media") => storage.publicUrl(bucket, path);
const mine = address(`films/${OWNER}/m/poster.png`);
const theirs = address(`films/${OTHER}/m/poster.png`);
const theirMissing = address(`films/${OTHER}/m/never-made.png`);
const shared = address("search-local/abc.png");
const elsewhere = "https://cdn.example/frame.png";

/** Every read the code under test makes of the storage, as bucket/path. */
const reads: string[] = [];
const watched = {
  ...storage,
  download: (
    bucket: string,
    path: string,
  ) => (reads.push(`${bucket}/${path}`), storage.download(bucket, path)),
  downloadStream: (bucket: string, path: string) => (
    reads.push(`${bucket}/${path}`), storage.downloadStream(bucket, path)
  ),
};

beforeAll(async () => {
  for (const url of [mine, theirs, shared]) {
    const path = url.split("/object/public/media/")[1];
    await storage.upload("media", path, bytes, { contentType: "image/png" });
  }
});

describe("taskObjects", () => {
  const may = taskObjects(OWNER, "media");
  const ref = (path: string, bucket = "media") => ({ bucket, path });

  it("reaches the owner's folders and the shared ones in the media bucket", () => {
    for (const folder of ["films", "assets", "local"]) {
      expect(may(ref(`${folder}/${OWNER}/x.png`))).toBe(true);
    }
    expect(may(ref("search-local/abc.png"))).toBe(true);
  });

  it("refuses another account's folders, other buckets, other folders and a way out of the owner's", () => {
    expect(may(ref(`films/${OTHER}/x.png`))).toBe(false);
    expect(may(ref(`local/${OTHER}/video/x.mp4`))).toBe(false);
    expect(may(ref(`films/${OWNER}/x.png`, "inputs"))).toBe(false);
    expect(may(ref("tests/x.png"))).toBe(false);
    expect(may(ref(`films/${OWNER}/../${OTHER}/x.png`))).toBe(false);
    expect(may(ref(`films/${OWNER}x/y.png`))).toBe(false);
  });

  it("lets a task no user started (the service role's) reach every object", () => {
    expect(taskObjects(null, "media")(ref(`films/${OTHER}/x.png`, "inputs"))).toBe(true);
  });

  it("sorts a URL: a readable object, another's, or a URL elsewhere", () => {
    expect(readableObject(storage, mine, may)).toEqual(ref(`films/${OWNER}/m/poster.png`));
    expect(readableObject(storage, theirs, may)).toBe("not_yours");
    const root = address("x").slice(0, -1);
    expect(readableObject(storage, `${root}films/${OWNER}/%2E%2E/${OTHER}/m/poster.png`, may)).toBe(
      "not_yours",
    );
    expect(readableObject(storage, elsewhere, may)).toBeNull();
  });
});

describe("a worker job's inputs", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "task-objects-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const io = (fetched: string[] = [], owner: string | null = OWNER) =>
    createJobIo({
      workDir: dir,
      storage: watched,
      signal: new AbortController().signal,
      heartbeat: async () => {},
      readable: taskObjects(owner, "media"),
      fetchesElsewhere: owner === null,
      fetch: (async (url: string) => (fetched.push(url), new Response(bytes))) as unknown as typeof fetch,
    });

  it("refuses another tenant's object without reading it, the same whether it exists", async () => {
    reads.length = 0;
    const refusal = async (url: string) => {
      const error = await io().fetchToFile(url, "reference").catch((e) => e);
      expect(error).toBeInstanceOf(PermanentTaskError);
      return { code: error.code, message: error.message };
    };
    const existing = await refusal(theirs);
    expect(existing.code).toBe("input_not_yours");
    expect(existing.message).not.toContain(OTHER);
    expect(await refusal(theirMissing)).toEqual(existing);
    expect(reads).toEqual([]);
  });

  it("reads the owner's object from Storage, and refuses a URL elsewhere without fetching it", async () => {
    const fetched: string[] = [];
    expect(await readFile(await io(fetched).fetchToFile(mine, "own"))).toEqual(Buffer.from(bytes));
    // Before: fetched from wherever it pointed, with the worker's network.
    for (const url of [elsewhere, "http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:5432/"]) {
      const error = await io(fetched).fetchToFile(url, "cdn").catch((e) => e);
      expect(error).toBeInstanceOf(PermanentTaskError);
      expect(error.code).toBe("input_not_ours");
      expect(error.message).not.toContain(url);
    }
    expect(fetched).toEqual([]);
  });

  it("fetches a URL elsewhere for a job no user started (the service role's)", async () => {
    const fetched: string[] = [];
    expect(await readFile(await io(fetched, null).fetchToFile(elsewhere, "cdn"))).toEqual(Buffer.from(bytes));
    expect(fetched).toEqual([elsewhere]);
  });
});

/** What storeOutput and storeVersioned use of a task and its film's env. */
const ctx = { effect: (_name: string, run: () => Promise<unknown>) => run() } as unknown as TaskContext;
const env = {
  storage: watched,
  bucket: "media",
  userId: OWNER,
  allowInsecureUrls: false,
} as unknown as FilmEnv;

describe("a provider's output in our Storage", () => {
  it("is kept where it is when it is the owner's, and fails the step as the scene's fault when it is not", async () => {
    expect(await storeOutput(ctx, env, "copy", mine, "image", `films/${OWNER}/m/copy.png`)).toBe(mine);
    reads.length = 0;
    for (const url of [theirs, theirMissing]) {
      const error = await storeOutput(ctx, env, "copy", url, "image", `films/${OWNER}/m/copy.png`).catch((
        e,
      ) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ failureCode: "output_not_yours", retryable: false });
      expect(error.message).toMatch(/not the owner's/);
      expect(isSceneFailure(error)).toBe(true);
    }
    expect(reads).toEqual([]);
    expect(storage.objects.has(`media/films/${OWNER}/m/copy.png`)).toBe(false);
  });

  it("is copied into the owner's preview when theirs, and fails the run without a read when another's", async () => {
    const run = { id: "run-1", user_id: OWNER, movie_id: "m", slot: "movie:m:cover" } as never;
    const preview = await storeVersioned(ctx, env, run, mine, "image", "png", "image/png");
    expect(preview.path).toBe(`assets/${OWNER}/m/movie-m-cover/run-1.png`);
    expect(storage.objects.get(`media/${preview.path}`)?.bytes).toEqual(bytes);
    reads.length = 0;
    const refusals = await Promise.all(
      [theirs, theirMissing].map((url) =>
        storeVersioned(
          ctx,
          env,
          { ...(run as object), id: "run-2" } as never,
          url,
          "image",
          "png",
          "image/png",
        )
          .catch((e) => e)
      ),
    );
    for (const error of refusals) expect(error).toBeInstanceOf(PreviewFailure);
    expect(refusals[0].message).toMatch(/not the owner's/);
    expect(refusals[1].message).toBe(refusals[0].message);
    expect(reads).toEqual([]);
    expect(storage.objects.has(`media/assets/${OWNER}/m/movie-m-cover/run-2.png`)).toBe(false);
  });
});

describe("a location search's candidate in our Storage", () => {
  const found = (url: string): ImageSearchResult => ({
    url,
    sourceUrl: null,
    width: 1280,
    height: 720,
    license: "cc0",
    licenseVersion: "1.0",
    licenseUrl: null,
    creator: null,
    attribution: "CC0",
  });
  const search = (urls: string[]) =>
    searchLocationImage(
      {
        search: { provider: "test", model: "test", searchImages: async () => urls.map(found) },
        storage: watched,
        bucket: "media",
        ownerId: OWNER,
      },
      "Lighthouse",
      `films/${OWNER}/m/scene-1-reference-found.jpg`,
    );

  it("is refused when another tenant's, and kept where it is when the owner's or shared", async () => {
    const refused = await search([theirs, theirMissing]);
    expect(refused.found).toBeNull();
    expect(refused.found === null && refused.reason).toBe(
      "no candidate passed the checks (2): a file in our Storage that is not the owner's; a file in our Storage that is not the owner's",
    );
    expect((await search([theirs, shared])).found?.storedUrl).toBe(shared);
    expect((await search([mine])).found?.storedUrl).toBe(mine);
  });
});
