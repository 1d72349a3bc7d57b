import { describe, expect, it } from "vitest";
import { AppError } from "../../shared/errors.ts";
import { assertDraftFitsProvider } from "../../shared/assets/asset-draft.ts";
import { videoShape } from "../../shared/film/video-prompt.ts";
import { ProviderInputError } from "../../shared/providers/provider-errors.ts";
import { validateRegistration } from "../../shared/providers/registry/provider-config.ts";
import { validateRunwayRequest } from "../../shared/providers/runway/runway-models.ts";
import { runwayBody, runwayWireRequest } from "../../shared/providers/runway/runway-settings.ts";
import { createRunwayVideo } from "../../shared/providers/runway/runway-video.ts";
import type { VideoRequest } from "../../shared/providers/types.ts";
import { runwayBodyProblem } from "../fakes/runway-fake.ts";

const image: VideoRequest = {
  promptText: "A lighthouse at dusk",
  promptImage: "https://cdn.example/frame.png",
  ratio: "1280:720",
  durationSeconds: 5,
};
const text: VideoRequest = { promptText: "Rain on a tin roof", ratio: "1280:720", durationSeconds: 6 };

const refusal = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a refusal");
};

describe("Runway rules per model and endpoint (SDK Image/TextToVideoCreateParams)", () => {
  it("takes gen4_turbo durations 2..10 s and refuses 11 naming field, model and allowed values", () => {
    for (let seconds = 2; seconds <= 10; seconds++) {
      expect(() => validateRunwayRequest("gen4_turbo", { ...image, durationSeconds: seconds })).not.toThrow();
    }
    const error = refusal(() => validateRunwayRequest("gen4_turbo", { ...image, durationSeconds: 11 }));
    expect(error).toBeInstanceOf(ProviderInputError);
    expect(error.message).toContain(
      "duration 11s is not one of 2, 3, 4, 5, 6, 7, 8, 9, 10 (gen4_turbo image_to_video)",
    );
  });

  it("gives gen4.5 text_to_video only 1280:720 and 720:1280, image_to_video its six ratios", () => {
    expect(() => validateRunwayRequest("gen4.5", { ...image, ratio: "1104:832" })).not.toThrow();
    const error = refusal(() => validateRunwayRequest("gen4.5", { ...text, ratio: "1104:832" }));
    expect(error).toBeInstanceOf(ProviderInputError);
    expect(error.message).toContain("ratio 1104:832 is not one of 1280:720, 720:1280 (gen4.5 text_to_video)");
    expect(() => validateRunwayRequest("gen4.5", { ...text, ratio: "720:1280" })).not.toThrow();
  });

  it("has no text_to_video for gen4_turbo and only 4, 6, 8 s for veo3.1", () => {
    expect(() => validateRunwayRequest("gen4_turbo", text)).toThrow(/no text_to_video/);
    expect(() => validateRunwayRequest("veo3.1", { ...text, durationSeconds: 5 })).toThrow(
      /duration 5s is not one of 4, 6, 8 \(veo3\.1 text_to_video\)/,
    );
  });

  it("never sends a seed to Veo: its body has none, a seed asked of it is refused before any call", () => {
    const wire = runwayWireRequest("veo3.1", { ...text, durationSeconds: 8 });
    expect(runwayBody("veo3.1", wire)).not.toHaveProperty("seed");
    expect(() => runwayWireRequest("veo3.1", { ...text, durationSeconds: 8, seed: 3 })).toThrow(
      /seed: this model takes no seed/,
    );
    const registered = refusal(() => runwayWireRequest("veo3", { ...text, durationSeconds: 8 }, { seed: 3 }));
    expect(registered).toBeInstanceOf(ProviderInputError);
    expect(registered.message).toMatch(/settings\.seed: runway veo3 takes no seed/);
  });
});

describe("registered Runway settings", () => {
  it("reach the body: ratio, duration, seed and contentModeration", () => {
    const settings = { ratio: "960:960", duration: 3, seed: 7, publicFigureThreshold: "low" as const };
    const wire = runwayWireRequest("gen4_turbo", image, settings);
    expect(runwayBody("gen4_turbo", wire, settings)).toEqual({
      model: "gen4_turbo",
      promptText: image.promptText,
      promptImage: image.promptImage,
      ratio: "960:960",
      duration: 3,
      seed: 7,
      contentModeration: { publicFigureThreshold: "low" },
    });
  });

  it("are exposed to the film, which puts them in its request and cache key", () => {
    const video = createRunwayVideo({
      apiKey: "key_0123456789abcdef",
      model: "gen4.5",
      settings: { ratio: "960:960", duration: 4, seed: 5 },
    });
    expect(video.registered).toEqual({ ratio: "960:960", durationSeconds: 4, seed: 5 });
  });

  it("lets a request's own seed (a regenerate draft's) win over the registered one", () => {
    expect(runwayWireRequest("gen4.5", { ...image, seed: 1 }, { seed: 7 }).seed).toBe(1);
  });

  it("shape the film's ratio and duration, so its cache key names what goes on the wire", () => {
    expect(videoShape("runway", "gen4.5", "landscape", 6, { ratio: "1584:672", durationSeconds: 9 })).toEqual(
      {
        ratio: "1584:672",
        durationSeconds: 9,
      },
    );
    expect(videoShape("runway", "gen4_turbo", "portrait", 7)).toEqual({
      ratio: "720:1280",
      durationSeconds: 7,
    });
  });

  it("are checked at registration: watermark and a seed on Veo are invalid_settings, naming the field", () => {
    const register = (model: string, settings: Record<string, unknown>) =>
      refusal(() =>
        validateRegistration({
          providerType: "video",
          provider: "runway",
          model,
          apiKey: "key_0123456789abcdef",
          settings,
        })
      ) as AppError;
    expect(register("gen4.5", { watermark: false })).toMatchObject({ status: 400, code: "invalid_settings" });
    expect(register("gen4.5", { watermark: false }).message).toContain("runway's API has no watermark");
    expect(register("veo3.1", { seed: 3 }).message).toContain("settings.seed: runway veo3.1 takes no seed");
    expect(register("gen4_turbo", { duration: 11 }).message).toContain(
      "settings.duration 11 is not a duration of runway gen4_turbo; expected one of: 2, 3, 4, 5, 6, 7, 8, 9, 10",
    );
    expect(register("veo3", { publicFigureThreshold: "low" }).message).toContain(
      "takes no contentModeration",
    );
    expect(
      validateRegistration({
        providerType: "video",
        provider: "runway",
        model: "gen4.5",
        apiKey: "key_0123456789abcdef",
        settings: { ratio: "1104:832", duration: 10, seed: 42 },
      }).settings,
    ).toEqual({ ratio: "1104:832", duration: 10, seed: 42 });
  });

  it("refuses a row written before these rules (watermark) before any call, never dropping it", () => {
    const error = refusal(() => runwayWireRequest("gen4.5", image, { watermark: true } as never));
    expect(error).toBeInstanceOf(ProviderInputError);
    expect(error.message).toContain("settings.watermark: runway's API has no such field");
  });

  it("a regenerate draft's seed is unsupported_setting on a Veo model, fine on gen4.5", () => {
    const owner = (model: string) => ({ provider: "runway", model, source: "user" as const });
    const error = refusal(() =>
      assertDraftFitsProvider("video", "m1", owner("veo3.1"), { settings: { seed: 1 } })
    ) as AppError;
    expect(error).toMatchObject({ status: 400, code: "unsupported_setting" });
    expect(error.message).toContain("runway veo3.1 takes no seed");
    expect(() => assertDraftFitsProvider("video", "m1", owner("gen4.5"), { settings: { seed: 1 } })).not
      .toThrow();
    expect(() =>
      assertDraftFitsProvider("video", "m1", owner("gen4.5"), { model: "veo3", settings: { seed: 1 } })
    ).toThrow(/runway veo3 takes no seed/);
  });
});

describe("the Runway fake refuses what Runway refuses", () => {
  const body = (change: Record<string, unknown>) => ({
    model: "gen4.5",
    promptText: "x",
    promptImage: "https://cdn.example/frame.png",
    ratio: "1280:720",
    duration: 5,
    ...change,
  });

  it.each(
    [
      ["image_to_video", body({ model: "gen4_turbo", duration: 11 }), /duration must be one of: 2, 3/],
      [
        "text_to_video",
        body({ promptImage: undefined, ratio: "1104:832" }),
        /ratio must be one of: 1280:720, 720:1280$/,
      ],
      [
        "text_to_video",
        body({ model: "gen4_turbo", promptImage: undefined }),
        /not available on \/v1\/text_to_video/,
      ],
      [
        "image_to_video",
        body({ model: "veo3.1", duration: 8, ratio: "1920:1080", seed: 1 }),
        /Unrecognized.*seed/,
      ],
      ["image_to_video", body({ watermark: false }), /Unrecognized.*watermark/],
      ["image_to_video", body({ model: "gen3a_turbo", ratio: "1280:768" }), /Invalid model/],
    ] as const,
  )("%s %j", (endpoint, wrong, message) => {
    const { promptImage, ...rest } = wrong as Record<string, unknown>;
    const sent = promptImage === undefined ? rest : wrong;
    expect(runwayBodyProblem(endpoint, sent)).toMatch(message);
  });

  it("takes every body the adapter builds for the same rules", () => {
    const settings = { ratio: "1104:832", seed: 9, publicFigureThreshold: "auto" as const };
    expect(
      runwayBodyProblem(
        "image_to_video",
        runwayBody("gen4.5", runwayWireRequest("gen4.5", image, settings), settings),
      ),
    )
      .toBeNull();
    expect(
      runwayBodyProblem(
        "text_to_video",
        runwayBody("veo3", runwayWireRequest("veo3", { ...text, durationSeconds: 8 })),
      ),
    )
      .toBeNull();
  });
});
