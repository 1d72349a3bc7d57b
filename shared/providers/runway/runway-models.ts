/**
 * What each Runway model accepts, per endpoint, as the API reference has it (the official Node
 * SDK's ImageToVideoCreateParams / TextToVideoCreateParams, read 2026-12): ratios and durations
 * differ between image_to_video and text_to_video (gen4.5's text_to_video takes only 1280:720 and
 * 720:1280), only the gen4 models take `seed` and `contentModeration`, and the Veo models take
 * neither (what a registered row may add: runway-settings.ts). Old rows may name gen3a_turbo, which Runway retired; it stays here only so an old
 * api_providers row fails with a clear message instead of a paid 400. Everything is checked here,
 * before any call; the Runway fake enforces the same table (tests/fakes/runway-fake.ts).
 */
import { ProviderInputError } from "../provider-errors.ts";
import type { VideoRequest } from "../types.ts";

export type RunwayEndpoint = "image_to_video" | "text_to_video";

/** What one endpoint takes for one model. */
export interface RunwayEndpointRules {
  ratios: readonly string[];
  durations: readonly number[];
}

export interface RunwayModel {
  /** The endpoints the model has; without text_to_video a promptImage is required. */
  endpoints: Partial<Record<RunwayEndpoint, RunwayEndpointRules>>;
  /** Takes `seed` (0..4294967295); the Veo models have none. */
  seed: boolean;
  /** Takes `contentModeration.publicFigureThreshold` ("auto" | "low"). */
  contentModeration: boolean;
  retired?: boolean;
}

/** Runway's largest seed. */
export const SEED_MAX = 4294967295;
/** promptText limit in UTF-16 code units. */
export const PROMPT_TEXT_MAX = 1000;
/** Runway's limit for a data-URI promptImage. */
export const DATA_URI_MAX_BYTES = 5 * 1024 * 1024;

const GEN4_RATIOS = ["1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672"] as const;
const VEO_RATIOS = ["1280:720", "720:1280", "1080:1920", "1920:1080"] as const;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const both = (rules: RunwayEndpointRules) => ({ image_to_video: rules, text_to_video: rules });

/** The rules per model; a model not listed here is refused before any call. */
export const RUNWAY_MODELS: Record<string, RunwayModel> = {
  "gen4.5": {
    endpoints: {
      image_to_video: { ratios: GEN4_RATIOS, durations: range(2, 10) },
      text_to_video: { ratios: ["1280:720", "720:1280"], durations: range(2, 10) },
    },
    seed: true,
    contentModeration: true,
  },
  // image_to_video only; 2..10 s since the API's "Additional i2v durations" (SDK, 2025-10).
  gen4_turbo: {
    endpoints: { image_to_video: { ratios: GEN4_RATIOS, durations: range(2, 10) } },
    seed: true,
    contentModeration: true,
  },
  "veo3.1": {
    endpoints: both({ ratios: VEO_RATIOS, durations: [4, 6, 8] }),
    seed: false,
    contentModeration: false,
  },
  "veo3.1_fast": {
    endpoints: both({ ratios: VEO_RATIOS, durations: [4, 6, 8] }),
    seed: false,
    contentModeration: false,
  },
  veo3: { endpoints: both({ ratios: VEO_RATIOS, durations: [8] }), seed: false, contentModeration: false },
  gen3a_turbo: {
    endpoints: { image_to_video: { ratios: ["1280:768", "768:1280"], durations: [5, 10] } },
    seed: true,
    contentModeration: false,
    retired: true,
  },
};

/** The rules of a model Runway still takes; a ProviderInputError naming the alternatives otherwise. */
export function runwayModel(model: string): RunwayModel {
  const found = Object.hasOwn(RUNWAY_MODELS, model) ? RUNWAY_MODELS[model] : undefined;
  if (!found) {
    throw new ProviderInputError("runway", model, `unknown model; use one of ${activeModels().join(", ")}`);
  }
  if (found.retired) {
    throw new ProviderInputError(
      "runway",
      model,
      `model is retired; use one of ${activeModels().join(", ")}`,
    );
  }
  return found;
}

/** The models Runway still takes, in table order. */
export function activeModels(): string[] {
  return Object.entries(RUNWAY_MODELS).filter(([, m]) => !m.retired).map(([name]) => name);
}

/** The endpoint a request goes to: image_to_video with a first frame, text_to_video without. */
export function runwayEndpoint(request: Pick<VideoRequest, "promptImage">): RunwayEndpoint {
  return request.promptImage === undefined ? "text_to_video" : "image_to_video";
}

/** Every ratio the model takes on any endpoint (what a registered `ratio` may be). */
export function runwayRatios(model: string): string[] {
  const endpoints = Object.values(RUNWAY_MODELS[model]?.endpoints ?? {});
  return [...new Set(endpoints.flatMap((rules) => rules.ratios))];
}

/** Every duration the model takes on any endpoint. */
export function runwayDurations(model: string): number[] {
  const endpoints = Object.values(RUNWAY_MODELS[model]?.endpoints ?? {});
  return [...new Set(endpoints.flatMap((rules) => rules.durations))].sort((a, b) => a - b);
}

/** A whole number in 0..SEED_MAX, Runway's seed range. */
export const isSeed = (seed: unknown) =>
  Number.isInteger(seed) && (seed as number) >= 0 && (seed as number) <= SEED_MAX;

/** Every rule that needs no network: model, endpoint, ratio, duration, seed, prompt length, image form. */
export function validateRunwayRequest(model: string, request: VideoRequest): void {
  const rules = runwayModel(model);
  const fail = (message: string) => {
    throw new ProviderInputError("runway", model, message);
  };
  const endpoint = runwayEndpoint(request);
  const allowed = rules.endpoints[endpoint];
  if (!allowed) fail(`this model has no ${endpoint}: a promptImage is required`);
  if (!allowed!.ratios.includes(request.ratio)) {
    fail(`ratio ${request.ratio} is not one of ${allowed!.ratios.join(", ")} (${model} ${endpoint})`);
  }
  if (!allowed!.durations.includes(request.durationSeconds)) {
    fail(
      `duration ${request.durationSeconds}s is not one of ${
        allowed!.durations.join(", ")
      } (${model} ${endpoint})`,
    );
  }
  if (request.promptText.trim() === "") fail("promptText is empty");
  if (request.promptText.length > PROMPT_TEXT_MAX) {
    fail(`promptText is ${request.promptText.length} characters, over ${PROMPT_TEXT_MAX}`);
  }
  if (request.promptImage?.startsWith("data:")) {
    if (!/^data:image\/[\w.+-]+;base64,/.test(request.promptImage)) {
      fail("promptImage data URI must be a base64 image");
    }
    const base64 = request.promptImage.slice(request.promptImage.indexOf(",") + 1);
    if (Math.floor(base64.length * 3 / 4) > DATA_URI_MAX_BYTES) fail("promptImage data URI is over 5 MB");
  } else if (request.promptImage !== undefined && !/^https?:\/\//.test(request.promptImage)) {
    fail("promptImage must be an https URL or a data URI");
  }
  if (request.seed !== undefined) {
    if (!rules.seed) fail("seed: this model takes no seed (only the gen4 models do)");
    if (!isSeed(request.seed)) fail(`seed must be an integer in 0..${SEED_MAX}`);
  }
}

/**
 * The clip length a provider row registered: a Runway row's `settings.duration` (seconds), the
 * only length its clips are made at. Read by the adapter (what goes on the wire) and by the film's
 * quote and length check (film-quote.ts `filmGrid`), so the film is planned, quoted and checked on
 * the clips it gets. Undefined for any other provider, or a row without one.
 */
export function registeredDuration(provider: string, settings?: { duration?: unknown }): number | undefined {
  const duration = provider === "runway" ? settings?.duration : undefined;
  return typeof duration === "number" ? duration : undefined;
}

/**
 * The frame ratio a provider row registered: a Runway row's `settings.ratio`, which replaces the
 * one the film's orientation picks for every clip (video-prompt.ts `videoShape`). Read by the
 * adapter (what goes on the wire) and by produce-movie's orientation check (film-orientation.ts),
 * so a film is refused for the frame it would get. Undefined for any other provider, or a row
 * without one.
 */
export function registeredRatio(provider: string, settings?: { ratio?: unknown }): string | undefined {
  const ratio = provider === "runway" ? settings?.ratio : undefined;
  return typeof ratio === "string" ? ratio : undefined;
}
