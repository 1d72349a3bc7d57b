/**
 * What each Runway model accepts (DESIGN.md §8, checked 2026). Old rows may name gen3a_turbo,
 * which Runway retired; it stays here only so an old api_providers row fails with a clear message
 * instead of a paid 400. A wrong ratio or duration is caught here, before any call.
 */
import { ProviderInputError } from "../provider-errors.ts";
import type { VideoRequest } from "../types.ts";

export interface RunwayModel {
  ratios: readonly string[];
  durations: readonly number[];
  /** Has POST /v1/text_to_video; otherwise a promptImage is required. */
  textToVideo: boolean;
  retired?: boolean;
}

const GEN4_RATIOS = ["1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672"] as const;
const VEO_RATIOS = ["1280:720", "720:1280", "1080:1920", "1920:1080"] as const;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

export const RUNWAY_MODELS: Record<string, RunwayModel> = {
  "gen4.5": { ratios: GEN4_RATIOS, durations: range(2, 10), textToVideo: true },
  gen4_turbo: { ratios: GEN4_RATIOS, durations: [5, 10], textToVideo: false },
  "veo3.1": { ratios: VEO_RATIOS, durations: [4, 6, 8], textToVideo: true },
  "veo3.1_fast": { ratios: VEO_RATIOS, durations: [4, 6, 8], textToVideo: true },
  veo3: { ratios: VEO_RATIOS, durations: [8], textToVideo: true },
  gen3a_turbo: { ratios: ["1280:768", "768:1280"], durations: [5, 10], textToVideo: false, retired: true },
};

export const PROMPT_TEXT_MAX = 1000;
/** Runway's limit for a data-URI promptImage. */
export const DATA_URI_MAX_BYTES = 5 * 1024 * 1024;

export function runwayModel(model: string): RunwayModel {
  const found = RUNWAY_MODELS[model];
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

export function activeModels(): string[] {
  return Object.entries(RUNWAY_MODELS).filter(([, m]) => !m.retired).map(([name]) => name);
}

/** Every rule that needs no network: model, ratio, duration, prompt length, image form. */
export function validateRunwayRequest(model: string, request: VideoRequest): void {
  const rules = runwayModel(model);
  const fail = (message: string) => {
    throw new ProviderInputError("runway", model, message);
  };
  if (!rules.ratios.includes(request.ratio)) {
    fail(`ratio ${request.ratio} is not one of ${rules.ratios.join(", ")}`);
  }
  if (!rules.durations.includes(request.durationSeconds)) {
    fail(`duration ${request.durationSeconds}s is not one of ${rules.durations.join(", ")}`);
  }
  if (request.promptText.trim() === "") fail("promptText is empty");
  if (request.promptText.length > PROMPT_TEXT_MAX) {
    fail(`promptText is ${request.promptText.length} characters, over ${PROMPT_TEXT_MAX}`);
  }
  if (request.promptImage === undefined) {
    if (!rules.textToVideo) fail("this model has no text_to_video: a promptImage is required");
  } else if (request.promptImage.startsWith("data:")) {
    if (!/^data:image\/[\w.+-]+;base64,/.test(request.promptImage)) {
      fail("promptImage data URI must be a base64 image");
    }
    const base64 = request.promptImage.slice(request.promptImage.indexOf(",") + 1);
    if (Math.floor(base64.length * 3 / 4) > DATA_URI_MAX_BYTES) fail("promptImage data URI is over 5 MB");
  } else if (!/^https?:\/\//.test(request.promptImage)) {
    fail("promptImage must be an https URL or a data URI");
  }
  if (
    request.seed !== undefined &&
    (!Number.isInteger(request.seed) || request.seed < 0 || request.seed > 4294967295)
  ) fail("seed must be an integer in 0..4294967295");
}
