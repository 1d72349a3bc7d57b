import { describe, expect, it } from "vitest";
import { regenerateAssetActions } from "../../shared/assets/asset-actions.ts";
import { targetProblem } from "../../shared/assets/asset-target.ts";
import { buildAssetUrl } from "../../shared/assets/asset-url.ts";
import { buildFunction } from "../../shared/http/build-function.ts";
import { signJwt } from "../../scripts/stack/jwt.ts";

const env = {
  SUPABASE_URL: "http://127.0.0.1:1",
  SUPABASE_ANON_KEY: "anon",
  SUPABASE_SERVICE_ROLE_KEY: "service-role-key-for-tests",
  // Never reached: every request below is refused before any query.
  SUPABASE_DB_URL: "postgresql://nobody:nothing@127.0.0.1:1/none",
  REELFORGE_INTERNAL_SECRET: "internal-secret-0123456789",
};
const userToken = () => signJwt({ sub: "3f0c2a9e-6a57-4d0a-9a47-2f4b9f2c1d11", role: "authenticated" }, "test-secret-with-at-least-32-characters!!");
const movieId = "7a1f0c2e-1111-4a57-9a47-2f4b9f2c1d11";

async function post(body: unknown) {
  const { app } = buildFunction({ name: "regenerate-asset", actions: regenerateAssetActions }, { env, waitUntil: () => {}, workerStartedAt: Date.now() });
  const response = await app.request("/regenerate-asset", {
    method: "POST", body: JSON.stringify(body),
    headers: { "content-type": "application/json", authorization: `Bearer ${await userToken()}` },
  });
  return { status: response.status, json: await response.json() };
}

describe("buildAssetUrl", () => {
  const asset = { public_url: "http://h/storage/v1/object/public/media/a/v.mp4", version: 3, content_hash: "abcdef0123456789ffff" };

  it("puts the version and the hash prefix on a committed asset's URL", () => {
    expect(buildAssetUrl(asset)).toBe("http://h/storage/v1/object/public/media/a/v.mp4?v=3-abcdef012345");
  });

  it("gives every version its own URL, even for the same object", () => {
    expect(buildAssetUrl({ ...asset, version: 4 })).not.toBe(buildAssetUrl(asset));
  });

  it("carries the run's token instead while the asset is a preview", () => {
    expect(buildAssetUrl(asset, { previewToken: "tok" })).toBe("http://h/storage/v1/object/public/media/a/v.mp4?preview=tok");
  });

  it("keeps an existing query string and has no URL for an asset without a file", () => {
    expect(buildAssetUrl({ ...asset, public_url: "https://x/y?a=1", content_hash: null })).toBe("https://x/y?a=1&v=3");
    expect(buildAssetUrl({ ...asset, public_url: null })).toBeNull();
  });
});

describe("which targets a kind takes", () => {
  it("takes a scene for video, a line for audio and the film for cover and script", () => {
    expect(targetProblem("video", { movieId, sceneNumber: 2 }, {})).toBeNull();
    expect(targetProblem("audio", { movieId, sceneNumber: 2, lineIndex: 0 }, { text: "hi" })).toBeNull();
    expect(targetProblem("cover", { movieId }, { prompt: "p" })).toBeNull();
    expect(targetProblem("script", { movieId }, {})).toBeNull();
  });

  it("names what is missing or extra", () => {
    expect(targetProblem("video", { movieId }, {})).toContain("sceneNumber");
    expect(targetProblem("audio", { movieId, sceneNumber: 1 }, {})).toContain("lineIndex");
    expect(targetProblem("cover", { movieId, sceneNumber: 1 }, {})).toContain("target { movieId } only");
    expect(targetProblem("video", { movieId, lineIndex: 1 }, {})).toContain("needs target.sceneNumber");
    expect(targetProblem("video", { movieId, sceneNumber: 1 }, { text: "x" })).toContain("draft.text");
  });
});

describe("regenerate-asset refuses bad input before touching the database", () => {
  it("names an unknown kind", async () => {
    const { status, json } = await post({ action: "start", kind: "hologram", target: { movieId } });
    expect(status).toBe(400);
    expect(json.error.message).toContain("kind must be one of: video, audio, cover, script");
  });

  it("names a malformed target and an unknown draft field", async () => {
    const bad = await post({ action: "start", kind: "video", target: { movieId: "nope", sceneNumber: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain("target.movieId");
    const extra = await post({ action: "start", kind: "cover", target: { movieId }, draft: { colour: "red" } });
    expect(extra.status).toBe(400);
    expect(extra.json.error.message).toContain("colour");
  });

  it("names a target that does not fit the kind", async () => {
    const { status, json } = await post({ action: "start", kind: "audio", target: { movieId, sceneNumber: 1 } });
    expect(status).toBe(400);
    expect(json.error.code).toBe("invalid_target");
    expect(json.error.message).toContain("lineIndex");
  });

  it("needs a run id for accept, reject and status", async () => {
    for (const action of ["accept", "reject", "status"]) {
      const { status, json } = await post({ action, runId: "x" });
      expect(status).toBe(400);
      expect(json.error.message).toContain("runId");
    }
  });
});
