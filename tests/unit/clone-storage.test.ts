/**
 * The storage phase against a stand-in of Storage's API, called through fetch without a server:
 * the source and the target "project" are in-memory storages (tests/fakes/memory-storage.ts).
 * End to end against the stack's real Storage: tests/integration/clone-storage.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { copyStorageStep, type StorageCursor, verifyStorage } from "../../shared/clone/clone-storage.ts";
import { createOutboundGuard } from "../../shared/net/outbound-guard.ts";
import { createMemoryStorage, type MemoryStorage, memoryStorageApi } from "../fakes/memory-storage.ts";

const serviceRoleKey = "target-service-role-key";
// target.test resolves (here) to a public address; fetch itself is stubbed below.
const guard = createOutboundGuard({
  allowPrivate: true,
  resolve: async () => [{ address: "93.184.215.14", family: 4 }],
});
const target = { url: "http://target.test", serviceRoleKey, guard };
const bytes = (text: string) => new TextEncoder().encode(text);

/** Allows `units` buckets or objects, then says the slice is over. */
const budgetOf = (units: number) => ({ exhausted: () => units-- <= 0 });
const noBudgetLimit = { exhausted: () => false };

describe("storage clone", () => {
  let source: MemoryStorage;
  let targetFiles: MemoryStorage;
  let uploads: string[];

  beforeEach(async () => {
    source = createMemoryStorage("http://source.test");
    targetFiles = createMemoryStorage("http://target.test");
    const api = memoryStorageApi(targetFiles, serviceRoleKey);
    uploads = [];
    vi.stubGlobal("fetch", async (input: string, init: RequestInit) => {
      const request = new Request(input, init);
      const { pathname } = new URL(request.url);
      if (request.method === "POST" && /^\/storage\/v1\/object\/(?!list\/)/.test(pathname)) {
        uploads.push(decodeURIComponent(pathname));
      }
      return await api(request);
    });

    await source.createBucket("private-docs", { public: false });
    await source.createBucket("videos", { public: true });
    await source.upload("private-docs", "contracts/summer 2024 (v2).pdf", bytes("pdf"), {
      contentType: "application/pdf",
      cacheControl: "no-store",
    });
    await source.upload("private-docs", "readme.txt", bytes("hello"), {
      contentType: "text/plain; charset=utf-8",
    });
    await source.upload("videos", "scene-1.mp4", bytes("mp4-one"), {
      contentType: "video/mp4",
      cacheControl: "31536000",
    });
    await source.upload("videos", "scene-2.mp4", bytes("mp4-two!"), { contentType: "video/mp4" });
  });

  afterEach(async () => {
    vi.unstubAllGlobals();
  });

  async function copyInSlices(
    budgetPerSlice: number,
    save: (cursor: StorageCursor) => Promise<void> = async () => {},
  ) {
    let cursor: StorageCursor | null = null;
    for (let slice = 1; slice <= 50; slice++) {
      // The cursor goes through JSON, as it does through the task's checkpoint.
      const step = await copyStorageStep(
        source,
        target,
        cursor && JSON.parse(JSON.stringify(cursor)),
        budgetOf(budgetPerSlice),
        save,
      );
      cursor = step.cursor;
      if (step.done) return { cursor, slices: slice };
    }
    throw new Error("the copy never finished");
  }

  it("copies buckets with their public flag and objects with their content type and cache control", async () => {
    const { done, cursor } = await copyStorageStep(source, target, null, noBudgetLimit, async () => {});
    expect(done).toBe(true);
    expect(cursor).toMatchObject({
      bucketsCreated: ["private-docs", "videos"],
      objectsCopied: 4,
      bytesCopied: 3 + 5 + 7 + 8,
    });
    expect(await targetFiles.listBuckets()).toEqual([{ id: "private-docs", public: false }, {
      id: "videos",
      public: true,
    }]);
    expect(await targetFiles.listObjects("videos", { limit: 10 })).toEqual([
      { name: "scene-1.mp4", size: 7, contentType: "video/mp4", cacheControl: "max-age=31536000" },
      { name: "scene-2.mp4", size: 8, contentType: "video/mp4", cacheControl: "max-age=3600" },
    ]);
    expect(
      new TextDecoder().decode(
        (await targetFiles.download("private-docs", "contracts/summer 2024 (v2).pdf"))!,
      ),
    )
      .toBe("pdf");
    expect(await verifyStorage(source, target)).toEqual([]);
  });

  it("resumes from the cursor slice after slice with a tiny budget, uploading each object once", async () => {
    const { cursor, slices } = await copyInSlices(1);
    expect(slices).toBeGreaterThanOrEqual(6); // 2 buckets + 4 objects, one per slice
    expect(cursor).toMatchObject({ objectsCopied: 4, bytesCopied: 23 });
    expect(uploads.sort()).toEqual([
      "/storage/v1/object/private-docs/contracts/summer 2024 (v2).pdf",
      "/storage/v1/object/private-docs/readme.txt",
      "/storage/v1/object/videos/scene-1.mp4",
      "/storage/v1/object/videos/scene-2.mp4",
    ]);
    expect(await verifyStorage(source, target)).toEqual([]);
  });

  it("re-uploads only the object in flight when its checkpoint was lost", async () => {
    let saved: StorageCursor | null = null;
    let saves = 0;
    const crashOnFourthSave = async (cursor: StorageCursor) => {
      if (++saves === 4) throw new Error("killed before the checkpoint committed");
      saved = cursor;
    };
    await expect(copyStorageStep(source, target, null, noBudgetLimit, crashOnFourthSave)).rejects.toThrow(
      "killed",
    );
    // Saves 1–2 are buckets, 3 the first object; the second object reached the target unrecorded.
    const resumed = await copyStorageStep(source, target, saved, noBudgetLimit, async () => {});
    expect(resumed.done).toBe(true);
    expect(uploads.filter((path) => path.endsWith("/readme.txt"))).toHaveLength(2);
    expect(uploads).toHaveLength(5);
    expect(await verifyStorage(source, target)).toEqual([]);
  });

  it("copies nothing more when run again with a finished cursor", async () => {
    const { cursor } = await copyInSlices(3);
    const before = uploads.length;
    expect(await copyStorageStep(source, target, cursor, noBudgetLimit, async () => {})).toEqual({
      done: true,
      cursor,
    });
    expect(uploads.length).toBe(before);
  });

  it("picks up a bucket created on the source after the copy started", async () => {
    const first = await copyStorageStep(source, target, null, budgetOf(3), async () => {});
    await source.createBucket("audio", { public: true });
    await source.upload("audio", "line.wav", bytes("wav"), { contentType: "audio/wav" });
    const second = await copyStorageStep(source, target, first.cursor, noBudgetLimit, async () => {});
    expect(second.cursor.bucketsCreated).toEqual(["private-docs", "videos", "audio"]);
    expect(await verifyStorage(source, target)).toEqual([]);
  });

  it("reports a missing bucket, a missing object, a changed object and an extra object", async () => {
    await copyStorageStep(source, target, null, noBudgetLimit, async () => {});
    await source.upload("videos", "scene-3.mp4", bytes("new"), { contentType: "video/mp4" });
    await source.upload("videos", "scene-1.mp4", bytes("mp4-one"), {
      contentType: "video/webm",
      cacheControl: "31536000",
      upsert: true,
    });
    await targetFiles.upload("private-docs", "stray.txt", bytes("x"), {
      contentType: "text/plain",
      cacheControl: "no-cache",
    });
    await source.createBucket("late-bucket", { public: true });
    await source.upload("late-bucket", "x.txt", bytes("x"), { contentType: "text/plain" });

    expect(await verifyStorage(source, target)).toEqual([
      { bucket: "late-bucket", source: { public: true }, target: null },
      {
        bucket: "private-docs",
        object: "stray.txt",
        source: null,
        target: { size: 1, contentType: "text/plain", cacheControl: "no-cache" },
      },
      {
        bucket: "videos",
        object: "scene-1.mp4",
        source: { size: 7, contentType: "video/webm", cacheControl: "max-age=31536000" },
        target: { size: 7, contentType: "video/mp4", cacheControl: "max-age=31536000" },
      },
      {
        bucket: "videos",
        object: "scene-3.mp4",
        source: { size: 3, contentType: "video/mp4", cacheControl: "max-age=3600" },
        target: null,
      },
    ]);
  });

  it("fails without retries when the target refuses the key", async () => {
    const wrongKey = { ...target, serviceRoleKey: "not-the-key" };
    await expect(copyStorageStep(source, wrongKey, null, noBudgetLimit, async () => {}))
      .rejects.toMatchObject({ code: "target_storage_refused", status: 422, httpStatus: 401 });
  });
});
