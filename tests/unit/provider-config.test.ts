import { describe, expect, it } from "vitest";
import { AppError } from "../../shared/errors.ts";
import { keyHint, validateRegistration } from "../../shared/providers/registry/provider-config.ts";
import { PROVIDER_TYPES } from "../../shared/providers/types.ts";

const key = "sk-test-0123456789abcdef";
const codeOf = (input: Parameters<typeof validateRegistration>[0]) => {
  try {
    validateRegistration(input);
    return "accepted";
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).status).toBe(400);
    expect((error as AppError).message).not.toContain(key);
    return (error as AppError).code;
  }
};

describe("provider registration validation", () => {
  it("accepts a runway model with one of its ratios and defaults the concurrency limit", () => {
    const valid = validateRegistration({
      providerType: "video",
      provider: "runway",
      model: "gen4_turbo",
      apiKey: key,
      settings: { ratio: "1280:720" },
    });
    expect(valid).toEqual({
      providerType: "video",
      provider: "runway",
      model: "gen4_turbo",
      settings: { ratio: "1280:720" },
      apiKey: key,
      concurrencyLimit: 2,
    });
  });

  it("refuses the retired gen3a_turbo with unknown_model listing the current models", () => {
    expect(codeOf({ providerType: "video", provider: "runway", model: "gen3a_turbo", apiKey: key })).toBe(
      "unknown_model",
    );
    expect(() =>
      validateRegistration({ providerType: "video", provider: "runway", model: "gen3a_turbo", apiKey: key })
    ).toThrow(/gen4_turbo/);
  });

  it("refuses a ratio the model does not take", () => {
    expect(
      codeOf({
        providerType: "video",
        provider: "runway",
        model: "veo3",
        apiKey: key,
        settings: { ratio: "1104:832" },
      }),
    ).toBe("invalid_settings");
  });

  it("holds an Openverse key to its client_id:client_secret shape, without echoing it", () => {
    const register = (apiKey: string) => () =>
      validateRegistration({ providerType: "search", provider: "openverse", model: "openverse", apiKey });
    const noColon = "my-openverse-client-secret";
    expect(register(noColon)).toThrow(
      "apiKey must be <client_id>:<client_secret> of a registered Openverse application (one colon between them)",
    );
    try {
      register(noColon)();
    } catch (error) {
      expect((error as AppError).code).toBe("invalid_api_key");
      expect((error as AppError).message).not.toContain(noColon);
    }
    expect(register("client:secret:extra")).toThrow(AppError);
    expect(register("my-client-id:my-client-secret")().apiKey).toBe("my-client-id:my-client-secret");
  });

  it("names each problem with its own code", () => {
    expect(codeOf({ providerType: "sound", provider: "local", model: "local" })).toBe(
      "unknown_provider_type",
    );
    expect(codeOf({ providerType: "video", provider: "fal", model: "x", apiKey: key })).toBe(
      "unknown_provider",
    );
    expect(codeOf({ providerType: "video", provider: "runway", model: "gen4_turbo" })).toBe(
      "api_key_required",
    );
    expect(codeOf({ providerType: "video", provider: "local", model: "local", apiKey: key })).toBe(
      "api_key_not_allowed",
    );
    expect(codeOf({ providerType: "video", provider: "runway", model: "gen4_turbo", apiKey: "short" })).toBe(
      "invalid_api_key",
    );
    expect(codeOf({ providerType: "video", provider: "runway", model: "gen4_turbo", apiKey: `${key} x` }))
      .toBe("invalid_api_key");
    expect(
      codeOf({
        providerType: "video",
        provider: "runway",
        model: "gen4_turbo",
        apiKey: key,
        concurrencyLimit: 0,
      }),
    ).toBe("invalid_concurrency_limit");
    expect(
      codeOf({
        providerType: "video",
        provider: "runway",
        model: "gen4_turbo",
        apiKey: key,
        concurrencyLimit: 1.5,
      }),
    ).toBe("invalid_concurrency_limit");
  });

  it("refuses settings a provider does not have, including a base URL", () => {
    expect(
      codeOf({
        providerType: "llm",
        provider: "openai",
        model: "gpt-4.1",
        apiKey: key,
        settings: { baseUrl: "http://169.254.169.254" },
      }),
    ).toBe("invalid_settings");
    expect(
      codeOf({
        providerType: "audio",
        provider: "elevenlabs",
        model: "eleven_v3",
        apiKey: key,
        settings: { defaultVoiceId: "../x" },
      }),
    ).toBe("invalid_settings");
  });

  it("does not treat inherited object keys as providers", () => {
    expect(codeOf({ providerType: "llm", provider: "constructor", model: "local" })).toBe("unknown_provider");
  });

  it("accepts local for every provider type without a key, and the render worker", () => {
    for (const providerType of PROVIDER_TYPES) {
      expect(codeOf({ providerType, provider: "local", model: "local" })).toBe("accepted");
    }
    expect(codeOf({ providerType: "render", provider: "worker", model: "ffmpeg" })).toBe("accepted");
  });

  it("shows at most four trailing characters of a key, two of a short one", () => {
    expect(keyHint(key)).toBe("cdef");
    expect(keyHint("abcdefghij")).toBe("ij");
  });
});
