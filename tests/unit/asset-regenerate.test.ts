import { describe, expect, it } from "vitest";
import { regenerateAssetActions } from "../../shared/assets/asset-actions.ts";
import {
  assertDraftFitsProvider,
  type DialogueLine,
  draftProblem,
  lineVoice,
} from "../../shared/assets/asset-draft.ts";
import { draftSchema, targetProblem } from "../../shared/assets/asset-target.ts";
import { buildFunction } from "../../shared/http/build-function.ts";
import { legacyUserToken, TEST_AUTH_ENV } from "../support/test-tokens.ts";

const env = {
  ...TEST_AUTH_ENV,
  SUPABASE_ANON_KEY: "anon",
  SUPABASE_SERVICE_ROLE_KEY: "service-role-key-for-tests",
  // Never reached: every request below is refused before any query.
  SUPABASE_DB_URL: "postgresql://nobody:nothing@127.0.0.1:1/none",
  REELFORGE_INTERNAL_SECRET: "internal-secret-0123456789",
};
const userToken = () => legacyUserToken();
const movieId = "7a1f0c2e-1111-4a57-9a47-2f4b9f2c1d11";

async function post(body: unknown) {
  const { app } = buildFunction({ name: "regenerate-asset", actions: regenerateAssetActions }, {
    env,
    waitUntil: () => {},
    workerStartedAt: Date.now(),
  });
  const response = await app.request("/regenerate-asset", {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", authorization: `Bearer ${await userToken()}` },
  });
  return { status: response.status, json: await response.json() };
}

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

describe("library images and music", () => {
  const characterId = "0b6f1c7e-2222-4a57-9a47-2f4b9f2c1d11";
  const locationImageId = "0b6f1c7e-3333-4a57-9a47-2f4b9f2c1d11";

  it("takes a character or a location image for image, and the film for music", () => {
    expect(targetProblem("image", { movieId, characterId }, {})).toBeNull();
    expect(targetProblem("image", { movieId, locationImageId }, { prompt: "p" })).toBeNull();
    expect(targetProblem("music", { movieId }, { prompt: "p" })).toBeNull();
  });

  it("names a library target that is missing, doubled or on another kind", () => {
    expect(targetProblem("image", { movieId }, {})).toContain(
      "characterId } or { movieId, locationImageId }",
    );
    expect(targetProblem("image", { movieId, characterId, locationImageId }, {})).toContain(
      "characterId } or { movieId, locationImageId }",
    );
    expect(targetProblem("image", { movieId, characterId, sceneNumber: 1 }, {})).toContain("kind image");
    expect(targetProblem("cover", { movieId, characterId }, {})).toContain("belong to kind image");
    expect(targetProblem("music", { movieId, sceneNumber: 1 }, {})).toContain("target { movieId } only");
  });
});

describe("which draft settings a kind takes", () => {
  it("takes a seed for generated media and voice settings for a line", () => {
    for (const kind of ["video", "image", "cover", "music"] as const) {
      expect(draftProblem(kind, { settings: { seed: 0 } })).toBeNull();
    }
    expect(
      draftProblem("audio", {
        settings: { stability: 0, similarityBoost: 1, style: 0.5, speed: 0.7, seed: 4294967295 },
      }),
    ).toBeNull();
  });

  it("names unknown settings and the ones the kind takes", () => {
    expect(draftProblem("video", { settings: { seed: 1, cfg: 7, steps: 4 } })).toBe(
      'draft.settings: "cfg", "steps" are not settings of kind video; it takes seed',
    );
    expect(draftProblem("cover", { settings: { stability: 0.5 } })).toContain(
      '"stability" is not a setting of kind cover',
    );
    expect(draftProblem("script", { model: "gpt-5" })).toContain("do not apply to kind script");
  });

  it("names a value out of its documented range", () => {
    expect(draftProblem("video", { settings: { seed: -1 } })).toBe(
      "draft.settings.seed must be a whole number in 0..4294967295",
    );
    expect(draftProblem("image", { settings: { seed: 1.5 } })).toContain("whole number");
    expect(draftProblem("audio", { settings: { speed: 1.3 } })).toBe(
      "draft.settings.speed must be a number in 0.7..1.2",
    );
    expect(draftProblem("audio", { settings: { style: "wild" } })).toContain("draft.settings.style");
    expect(draftProblem("music", { prompt: "x".repeat(501) })).toContain("at most 500");
  });
});

describe("a draft against the owner's provider", () => {
  const owner = (provider: string, model: string, source: "user" | "project" | "fallback" = "user") => ({
    provider,
    model,
    source,
  });
  const refusal = (run: () => void) => {
    try {
      run();
    } catch (error) {
      return error as { status: number; code: string; message: string };
    }
    return null;
  };

  it("accepts a model of the provider and the settings its API takes", () => {
    expect(
      refusal(() =>
        assertDraftFitsProvider("video", movieId, owner("runway", "gen4.5"), {
          model: "gen4_turbo",
          settings: { seed: 3 },
        })
      ),
    ).toBeNull();
    expect(
      refusal(() =>
        assertDraftFitsProvider("image", movieId, owner("fal", "fal-ai/flux/schnell"), {
          model: "fal-ai/flux/dev",
          settings: { seed: 3 },
        })
      ),
    ).toBeNull();
    expect(
      refusal(() =>
        assertDraftFitsProvider("audio", movieId, owner("elevenlabs", "eleven_flash_v2_5"), {
          settings: { speed: 1, seed: 2 },
        })
      ),
    ).toBeNull();
  });

  it("keeps a project default's model: the project's key pays for it", () => {
    const onProject = owner("runway", "gen4_turbo", "project");
    const error = refusal(() => assertDraftFitsProvider("video", movieId, onProject, { model: "veo3" }));
    expect(error).toMatchObject({ status: 403, code: "model_not_allowed" });
    expect(error!.message).toContain("runs gen4_turbo for every user");
    expect(refusal(() => assertDraftFitsProvider("video", movieId, onProject, { model: "gen4_turbo" })))
      .toBeNull();
    expect(refusal(() => assertDraftFitsProvider("video", movieId, onProject, { settings: { seed: 1 } })))
      .toBeNull();
    expect(
      refusal(() =>
        assertDraftFitsProvider("video", movieId, owner("runway", "gen4_turbo"), { model: "veo3" })
      ),
    )
      .toBeNull();
  });

  it("names the allowed models when draft.model is not one of them", () => {
    const error = refusal(() =>
      assertDraftFitsProvider("video", movieId, owner("runway", "gen4.5"), { model: "gen3a_turbo" })
    );
    expect(error).toMatchObject({ status: 400, code: "invalid_model" });
    expect(error!.message).toContain("expected one of: gen4.5, gen4_turbo, veo3.1, veo3.1_fast, veo3");
  });

  it("refuses a voice the owner's audio provider cannot have, before anything is charged", () => {
    const error = refusal(() =>
      assertDraftFitsProvider("audio", movieId, owner("elevenlabs", "eleven_flash_v2_5"), {
        voice: "../../v1/user",
      })
    );
    expect(error).toMatchObject({ status: 400, code: "invalid_voice" });
    expect(error!.message).toBe(
      "draft.voice must be a voice of the owner's audio provider elevenlabs: an ElevenLabs voice id (letters and digits)",
    );
    expect(
      refusal(() =>
        assertDraftFitsProvider("audio", movieId, owner("elevenlabs", "eleven_flash_v2_5"), {
          voice: "21m00Tcm4TlvDq8ikWAM",
        })
      ),
    ).toBeNull();
    // The local voices are espeak-ng's names ("en-us"): no pattern to hold them to.
    expect(
      refusal(() => assertDraftFitsProvider("audio", movieId, owner("local", "local"), { voice: "en-us" })),
    )
      .toBeNull();
  });

  it("refuses a seed where the provider's API has none, and any music without a music provider", () => {
    const seed = refusal(() =>
      assertDraftFitsProvider("music", movieId, owner("beatoven", "maestro"), { settings: { seed: 1 } })
    );
    expect(seed).toMatchObject({ status: 400, code: "unsupported_setting" });
    expect(seed!.message).toContain(
      "music provider beatoven takes no seed; leave it out: every run without a seed is a new take",
    );
    expect(
      refusal(() =>
        assertDraftFitsProvider("audio", movieId, owner("local", "local", "fallback"), {
          settings: { stability: 0.5 },
        })
      ),
    ).toMatchObject({ code: "unsupported_setting" });
    expect(refusal(() => assertDraftFitsProvider("music", movieId, owner("local", "local", "fallback"), {})))
      .toMatchObject({ status: 409, code: "no_music_provider" });
  });
});

describe("regenerate-asset refuses bad input before touching the database", () => {
  it("names an unknown kind", async () => {
    const { status, json } = await post({ action: "start", kind: "hologram", target: { movieId } });
    expect(status).toBe(400);
    expect(json.error.message).toContain("kind must be one of: video, audio, cover, script, music, image");
  });

  it("names a malformed target and an unknown draft field", async () => {
    const bad = await post({ action: "start", kind: "video", target: { movieId: "nope", sceneNumber: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain("target.movieId");
    const extra = await post({
      action: "start",
      kind: "cover",
      target: { movieId },
      draft: { colour: "red" },
    });
    expect(extra.status).toBe(400);
    expect(extra.json.error.message).toContain("colour");
  });

  it("names a target that does not fit the kind", async () => {
    const { status, json } = await post({
      action: "start",
      kind: "audio",
      target: { movieId, sceneNumber: 1 },
    });
    expect(status).toBe(400);
    expect(json.error.code).toBe("invalid_target");
    expect(json.error.message).toContain("lineIndex");
  });

  it("names unknown draft settings before any query", async () => {
    const { status, json } = await post({
      action: "start",
      kind: "video",
      target: { movieId, sceneNumber: 1 },
      draft: { settings: { guidance: 3 } },
    });
    expect(status).toBe(400);
    expect(json.error).toMatchObject({
      code: "invalid_draft",
      message: 'draft.settings: "guidance" is not a setting of kind video; it takes seed',
    });
  });

  it("needs a run id for accept, reject and status", async () => {
    for (const action of ["accept", "reject", "status"]) {
      const { status, json } = await post({ action, runId: "x" });
      expect(status).toBe(400);
      expect(json.error.message).toContain("runId");
    }
  });
});

describe("a draft's fields", () => {
  const problem = (draft: unknown) => draftSchema.safeParse(draft).error?.issues[0]?.message ?? null;

  it("names what is wrong with each, the model included", () => {
    expect(problem({ model: "gen4.5" })).toBeNull();
    expect(problem({ model: 5 })).toBe("draft.model must be a string");
    // Before, an empty model was told it "must be a string".
    expect(problem({ model: "  " })).toBe("draft.model must not be empty");
    expect(problem({ model: "m".repeat(101) })).toBe("draft.model must be at most 100 characters");
    expect(problem({ prompt: "" })).toBe("draft.prompt must not be empty");
    expect(problem({ voice: "v".repeat(201) })).toBe("draft.voice must be at most 200 characters");
    // A zero-width space alone asks for nothing (before, it was a prompt).
    expect(problem({ prompt: "\u200b" })).toBe("draft.prompt must have a visible character");
    expect(problem({ text: "\u200b\u2060" })).toBe("draft.text must have a visible character");
    expect(problem({ prompt: "¿Qué?", text: "…" })).toBeNull();
  });
});

describe("a regenerated line's voice, when the draft names none", () => {
  const line = (voiceId: string, libraryVoice: string | null): DialogueLine => ({
    sceneId: "scene",
    lineIndex: 0,
    text: "The light must stay lit.",
    voiceId,
    libraryVoice,
  });
  const elevenVoice = "21m00Tcm4TlvDq8ikWAM";

  it("is the line's own when the owner's provider speaks it", () => {
    expect(lineVoice(line(elevenVoice, "EXAVITQu4vr4xnSDxMaL"), "elevenlabs")).toBe(elevenVoice);
    expect(lineVoice(line("voice-ada", null), "local")).toBe("voice-ada");
  });

  it("is its character's library voice when the provider cannot speak the line's", () => {
    expect(lineVoice(line("voice-ada", elevenVoice), "elevenlabs")).toBe(elevenVoice);
  });

  it("is none when the provider speaks neither", () => {
    expect(lineVoice(line("voice-ada", null), "elevenlabs")).toBeNull();
    expect(lineVoice(line("voice-ada", "voice-bob"), "elevenlabs")).toBeNull();
  });
});
