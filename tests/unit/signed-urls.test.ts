import { describe, expect, it } from "vitest";
import { withSignedInputs } from "../../shared/providers/signed-inputs.ts";
import type { LipsyncProvider } from "../../shared/providers/types.ts";
import { ownerObjects } from "../../shared/storage/owner-objects.ts";
import { objectOfUrl, signUrls, signUrlsIn } from "../../shared/storage/signed-urls.ts";
import { createMemoryStorage } from "../fakes/memory-storage.ts";

const storage = createMemoryStorage("http://127.0.0.1:54321");
const bytes = new TextEncoder().encode("x");
await storage.upload("media", "films/u/m/scene 1.mp4", bytes, { contentType: "video/mp4" });
await storage.upload("media", "films/u/m/voice.mp3", bytes, { contentType: "audio/mpeg" });
const clip = storage.publicUrl("media", "films/u/m/scene 1.mp4");
const voice = storage.publicUrl("media", "films/u/m/voice.mp3");
/** What a signing for user `u` may reach. */
const mine = ownerObjects("u", "media");

describe("objectOfUrl", () => {
  it("names the bucket and path of our addresses, decoded and without a query", () => {
    expect(objectOfUrl(storage, clip)).toEqual({ bucket: "media", path: "films/u/m/scene 1.mp4" });
    expect(objectOfUrl(storage, `${clip}?v=3-abc`)).toEqual({
      bucket: "media",
      path: "films/u/m/scene 1.mp4",
    });
  });

  it("is null for URLs elsewhere, other Storage routes and a bare bucket", () => {
    expect(objectOfUrl(storage, "https://cdn.runway.example/clip.mp4")).toBeNull();
    expect(objectOfUrl(storage, "http://127.0.0.1:54321/storage/v1/object/sign/media/a.mp4?token=t"))
      .toBeNull();
    expect(objectOfUrl(storage, "http://127.0.0.1:54321/storage/v1/object/public/media")).toBeNull();
  });
});

describe("signUrls", () => {
  it("signs our objects, passes other URLs through and keeps a missing object's address", async () => {
    const missing = storage.publicUrl("media", "films/u/m/gone.mp4");
    const signed = await signUrls(
      storage,
      [clip, "https://cdn.example/x.png", missing, null, clip],
      3600,
      mine,
    );
    expect(signed.get(clip)).toMatch(
      /\/object\/sign\/media\/films\/u\/m\/scene%201\.mp4\?token=memory-3600$/,
    );
    expect(signed.get("https://cdn.example/x.png")).toBe("https://cdn.example/x.png");
    expect(signed.get(missing)).toBe(missing);
    expect(signed.size).toBe(3);
  });
});

describe("signUrlsIn and provider submissions", () => {
  it("replaces our addresses anywhere in a request and leaves the caller's request as it was", async () => {
    const request = {
      timeline: { clips: [{ url: clip, inFrame: 0 }], dialogue: [{ url: voice }] },
      output: { bucket: "media", path: "films/u/m/out.mp4" },
    };
    const copy = JSON.parse(JSON.stringify(request));
    const signed = await signUrlsIn(storage, request, 60, mine);
    expect(signed.timeline.clips[0].url).toContain("/object/sign/media/");
    expect(signed.timeline.dialogue[0].url).toContain("/object/sign/media/");
    expect(signed.output).toEqual(request.output);
    expect(request).toEqual(copy);
  });

  it("hands a provider signed URLs at submit, fresh for that submission", async () => {
    const submitted: unknown[] = [];
    const provider: LipsyncProvider = {
      provider: "sync",
      model: "lipsync-2",
      validate: () => {},
      submit: async (request) => {
        submitted.push(request);
        return "job-1";
      },
      poll: async () => ({ state: "pending" }),
      cancel: async () => {},
    };
    const wrapped = withSignedInputs(provider, storage, mine);
    expect(wrapped.provider).toBe("sync");
    expect(await wrapped.submit({ videoUrl: clip, audioUrl: "https://elsewhere.example/a.mp3" })).toBe(
      "job-1",
    );
    expect(submitted).toEqual([{
      videoUrl: expect.stringContaining("/object/sign/media/films/u/m/scene%201.mp4?token="),
      audioUrl: "https://elsewhere.example/a.mp3",
    }]);
  });

  it("signs another user's object for no one, wherever its address is written", async () => {
    // Tenant v's private poster, and the shared folder of the offline search's made-up images.
    await storage.upload("media", "films/v/m2/poster.png", bytes, { contentType: "image/png" });
    await storage.upload("media", "search-local/abc.png", bytes, { contentType: "image/png" });
    await storage.upload("other", "films/u/m/x.png", bytes, { contentType: "image/png" });
    const theirs = storage.publicUrl("media", "films/v/m2/poster.png");
    const shared = storage.publicUrl("media", "search-local/abc.png");
    const otherBucket = storage.publicUrl("other", "films/u/m/x.png");
    const climbing = storage.publicUrl("media", "films/u/../v/m2/poster.png");
    // Before: u's prompt naming v's poster got it signed for 24 h and sent to u's provider.
    const signed = await signUrlsIn(
      storage,
      { prompt: theirs, image: shared, a: otherBucket, b: climbing },
      60,
      mine,
    );
    expect(signed).toMatchObject({ prompt: theirs, a: otherBucket, b: climbing });
    expect(signed.image).toContain("/object/sign/media/search-local/abc.png?token=");
    expect((await signUrls(storage, [theirs], 60, ownerObjects("v", "media"))).get(theirs))
      .toContain("/object/sign/media/films/v/m2/poster.png?token=");
  });
});
