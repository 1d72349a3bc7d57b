/**
 * The providers the registry accepts, per provider type: their models, whether they need an API
 * key, and the settings a user may store. Endpoints are never settings: each adapter talks to its
 * provider's fixed host, so a registered config cannot point a function at an arbitrary URL (SSRF).
 */
import { z } from "zod";
import { BEATOVEN_MAX_SECONDS } from "../beatoven/beatoven-music.ts";
import { ELEVENLABS_MODELS, isElevenLabsVoiceId } from "../elevenlabs/elevenlabs-models.ts";
import { FAL_IMAGE_MODELS } from "../fal/fal-image.ts";
import { LOCAL_MEDIA_MAX_SECONDS } from "../local/local-media-payload.ts";
import { activeModels, RUNWAY_MODELS, runwayRatios } from "../runway/runway-models.ts";
import { RUNWAY_SETTING_NAMES, runwaySettingsProblem } from "../runway/runway-settings.ts";
import { SYNC_MODELS } from "../sync/sync-lipsync.ts";
import { adapterSettings, jobDeadlineSetting } from "../job-deadline.ts";
import type { ProviderType } from "../types.ts";

export interface CatalogEntry {
  models: readonly string[];
  /** Keyless providers run on our own machines (local media jobs, the render worker). */
  needsApiKey: boolean;
  /** Strict: an unknown setting is a mistake worth a 400, not something to store silently. */
  settings: z.ZodType<Record<string, unknown>>;
  /** Checks that depend on the model (e.g. Runway's ratios); returns a problem or null. */
  checkModelSettings?: (model: string, settings: Record<string, unknown>) => string | null;
  /** Per-request settings the adapter puts on the wire (regenerate-asset's draft.settings); none when absent. */
  requestSettings?: readonly RequestSetting[];
  /** requestSettings where they depend on the model (Runway's Veo models take no seed). */
  modelRequestSettings?: (model: string) => readonly RequestSetting[];
  /** What a voice of this provider looks like (regenerate-asset's draft.voice); any text when absent. */
  voice?: z.ZodType<string>;
  /** What the provider's API key looks like, where it has a shape of its own (checked at register and rotate_key). */
  apiKeyShape?: { pattern: RegExp; description: string };
  /** Music: the longest track one request may ask for (its adapter refuses more). */
  maxDurationSeconds?: number;
}

/** Settings one request may carry: a seed, and ElevenLabs' voice_settings. */
export type RequestSetting = "seed" | "stability" | "similarityBoost" | "style" | "speed";

const noSettings = z.object({}).strict();
/** A job provider's settings take its own deadline (job-deadline.ts) beside its own settings. */
const jobSettings = (shape: z.ZodRawShape = {}) =>
  z.object({ ...shape, jobDeadlineSeconds: jobDeadlineSetting }).strict();
const local: CatalogEntry = { models: ["local"], needsApiKey: false, settings: noSettings };

/** Runway's models the API still takes, with every ratio each takes (the adapter's table: one source of truth). */
export const RUNWAY_RATIOS: Record<string, readonly string[]> = Object.fromEntries(
  activeModels().map((model) => [model, runwayRatios(model)]),
);

// The adapter's own rule, so what the catalog lets through is what the adapter sends.
const voiceId = z.string().refine(isElevenLabsVoiceId, "an ElevenLabs voice id (letters and digits)");

export const PROVIDER_CATALOG: Record<ProviderType, Record<string, CatalogEntry>> = {
  llm: {
    openai: {
      // Models with strict json_schema structured outputs.
      models: [
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-nano",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "gpt-4o",
        "gpt-4o-mini",
      ],
      needsApiKey: true,
      settings: z.object({
        organization: z.string().regex(/^org-[A-Za-z0-9]{1,64}$/, "an OpenAI organization id (org-...)")
          .optional(),
      }).strict(),
    },
    local,
  },
  video: {
    runway: {
      models: Object.keys(RUNWAY_RATIOS),
      needsApiKey: true,
      // Only what Runway's API has: no watermark (there is no such field). Types here, the rules
      // per model (which ratios, durations, whether seed) in runway-models.ts.
      settings: z.strictObject({
        ratio: z.string().optional(),
        duration: z.number().int().optional(),
        seed: z.number().int().optional(),
        publicFigureThreshold: z.enum(["auto", "low"]).optional(),
        jobDeadlineSeconds: jobDeadlineSetting,
      }, {
        error: (issue) =>
          issue.code === "unrecognized_keys"
            ? `runway's API has no ${issue.keys.join(", ")}; runway takes ${
              [...RUNWAY_SETTING_NAMES, "jobDeadlineSeconds"].join(", ")
            }`
            : undefined,
      }),
      // The gen4 models' image_to_video and text_to_video take `seed` (0..4294967295); Veo's do not.
      requestSettings: ["seed"],
      modelRequestSettings: (model) => RUNWAY_MODELS[model]?.seed ? ["seed"] : [],
      // The adapter's rules see the adapter's settings: jobDeadlineSeconds is the registry's own.
      checkModelSettings: (model, settings) => runwaySettingsProblem(model, adapterSettings(settings)),
    },
    local,
  },
  image: {
    fal: {
      models: FAL_IMAGE_MODELS,
      needsApiKey: true,
      settings: jobSettings({
        numInferenceSteps: z.number().int().min(1).max(50).optional(),
        enableSafetyChecker: z.boolean().optional(),
      }),
      // Every flux model's input has `seed`.
      requestSettings: ["seed"],
    },
    local,
  },
  audio: {
    elevenlabs: {
      models: Object.keys(ELEVENLABS_MODELS),
      needsApiKey: true,
      settings: z.object({
        defaultVoiceId: voiceId.optional(),
        outputFormat: z.enum(["mp3_44100_128", "mp3_44100_192", "pcm_44100"]).optional(),
      }).strict(),
      // The text-to-speech body's voice_settings {stability, similarity_boost, style, speed} and seed.
      requestSettings: ["stability", "similarityBoost", "style", "speed", "seed"],
      voice: voiceId,
    },
    local,
  },
  lipsync: {
    sync: {
      models: SYNC_MODELS,
      needsApiKey: true,
      settings: jobSettings({
        syncMode: z.enum(["cut_off", "loop", "bounce", "silence", "remap"]).optional(),
      }),
    },
    local,
  },
  music: {
    // Beatoven's compose API takes no model ("maestro" names the one it runs) and no seed: a new
    // take of a cue needs another prompt.
    beatoven: {
      models: ["maestro"],
      needsApiKey: true,
      settings: jobSettings({
        format: z.enum(["mp3", "aac", "wav"]).optional(),
        looping: z.boolean().optional(),
      }),
      maxDurationSeconds: BEATOVEN_MAX_SECONDS,
    },
    local: { ...local, maxDurationSeconds: LOCAL_MEDIA_MAX_SECONDS },
  },
  render: {
    // The render worker process (FFmpeg on our machines); `local` is the same thing by its other name.
    worker: { models: ["ffmpeg"], needsApiKey: false, settings: noSettings },
    fal: { models: ["fal-ai/ffmpeg-api"], needsApiKey: true, settings: jobSettings() },
    local,
  },
  search: {
    // Openverse has no models ("openverse" names its one index); the key is
    // `<client_id>:<client_secret>` of a registered Openverse application.
    openverse: {
      models: ["openverse"],
      needsApiKey: true,
      apiKeyShape: {
        pattern: /^[^:]+:[^:]+$/,
        description:
          "<client_id>:<client_secret> of a registered Openverse application (one colon between them)",
      },
      settings: z.object({ licenseType: z.enum(["commercial", "modification"]).optional() }).strict(),
    },
    local,
  },
};

export function catalogEntry(providerType: ProviderType, provider: string): CatalogEntry | undefined {
  return Object.hasOwn(PROVIDER_CATALOG[providerType], provider)
    ? PROVIDER_CATALOG[providerType][provider]
    : undefined;
}

/**
 * Whether an audio provider can speak a voice id: ElevenLabs only its own ids, the others (local)
 * any, from which they derive a voice. A library character voiced on `local` (`voice-ada`) was
 * refused by ElevenLabs' adapter once its owner moved their voices there.
 */
export function speaksVoice(provider: string, voiceId: string): boolean {
  return catalogEntry("audio", provider)?.voice?.safeParse(voiceId).success ?? true;
}
