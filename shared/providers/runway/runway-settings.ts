/**
 * What a user's registered Runway row (api_providers.settings) may hold, and how it reaches the
 * request body: only fields Runway's API has (there is no watermark), each only where the model
 * takes it. The registry refuses anything else with a 400 before the row is written; a row written
 * before these rules is refused here before any paid call, never silently dropped.
 */
import { quoted } from "../../errors.ts";
import { ProviderInputError } from "../provider-errors.ts";
import type { VideoRequest } from "../types.ts";
import {
  isSeed,
  RUNWAY_MODELS,
  runwayDurations,
  runwayRatios,
  SEED_MAX,
  validateRunwayRequest,
} from "./runway-models.ts";

/** The settings a user may register on a Runway row (api_providers.settings), all optional. */
export interface RunwaySettings {
  /** Replaces the ratio the film derives from its orientation. */
  ratio?: string;
  /** Seconds; replaces the duration nearest each scene's screen time. */
  duration?: number;
  /** Sent when the request has no seed of its own (a regenerate draft's seed wins). */
  seed?: number;
  publicFigureThreshold?: "auto" | "low";
}

/** The registered setting names the catalog knows (provider-catalog.ts), for messages. */
export const RUNWAY_SETTING_NAMES = ["ratio", "duration", "seed", "publicFigureThreshold"] as const;

/**
 * What is wrong with a registered settings object for this model, naming the field, the model
 * and what it takes; null when every setting fits. Shared by the registry (a 400 before the row
 * is written) and the adapter (a row written before these rules is refused before any call).
 */
export function runwaySettingsProblem(model: string, settings: Record<string, unknown>): string | null {
  const rules = RUNWAY_MODELS[model];
  if (!rules) return null; // the model check names it
  for (const key of Object.keys(settings)) {
    if (!(RUNWAY_SETTING_NAMES as readonly string[]).includes(key)) {
      return `settings.${key}: runway's API has no such field; runway ${model} takes ${
        settingsOf(model).join(", ")
      }`;
    }
  }
  const { ratio, duration, seed, publicFigureThreshold } = settings as Record<string, unknown>;
  if (ratio !== undefined && !runwayRatios(model).includes(ratio as string)) {
    return `settings.ratio ${quoted(ratio)} is not a ratio of runway ${model}; expected one of: ${
      runwayRatios(model).join(", ")
    }`;
  }
  if (duration !== undefined && !runwayDurations(model).includes(duration as number)) {
    return `settings.duration ${duration} is not a duration of runway ${model}; expected one of: ${
      runwayDurations(model).join(", ")
    } (seconds)`;
  }
  if (seed !== undefined) {
    if (!rules.seed) return `settings.seed: runway ${model} takes no seed (only the gen4 models do)`;
    if (!isSeed(seed)) return `settings.seed must be a whole number in 0..${SEED_MAX}`;
  }
  if (publicFigureThreshold !== undefined) {
    if (!rules.contentModeration) {
      return `settings.publicFigureThreshold: runway ${model} takes no contentModeration (only the gen4 models do)`;
    }
    if (publicFigureThreshold !== "auto" && publicFigureThreshold !== "low") {
      return `settings.publicFigureThreshold must be "auto" or "low"`;
    }
  }
  return null;
}

/** The registered settings this model honours. */
function settingsOf(model: string): string[] {
  const rules = RUNWAY_MODELS[model];
  return [
    "ratio",
    "duration",
    ...(rules?.seed ? ["seed"] : []),
    ...(rules?.contentModeration ? ["publicFigureThreshold"] : []),
  ];
}

/**
 * The request as it goes on the wire: a registered ratio or duration replaces the request's (the
 * film asks videoShape, which already honours them, so its cache keys match), a registered seed
 * fills in when the request has none. A setting the row holds but the model does not take (a
 * row written before these rules) is refused, never dropped.
 */
export function runwayWireRequest(
  model: string,
  request: VideoRequest,
  settings: RunwaySettings = {},
): VideoRequest {
  const problem = runwaySettingsProblem(model, settings as Record<string, unknown>);
  if (problem) throw new ProviderInputError("runway", model, `${problem}; re-register the provider`);
  const seed = request.seed ?? settings.seed;
  const wire = {
    ...request,
    ratio: settings.ratio ?? request.ratio,
    durationSeconds: settings.duration ?? request.durationSeconds,
    ...(seed === undefined ? {} : { seed }),
  };
  validateRunwayRequest(model, wire);
  return wire;
}

/** The JSON body of POST /v1/image_to_video or /v1/text_to_video for a checked wire request. */
export function runwayBody(model: string, wire: VideoRequest, settings: RunwaySettings = {}) {
  return {
    model,
    promptText: wire.promptText,
    ratio: wire.ratio,
    duration: wire.durationSeconds,
    ...(wire.promptImage === undefined ? {} : { promptImage: wire.promptImage }),
    ...(wire.seed === undefined ? {} : { seed: wire.seed }),
    ...(settings.publicFigureThreshold === undefined
      ? {}
      : { contentModeration: { publicFigureThreshold: settings.publicFigureThreshold } }),
  };
}
