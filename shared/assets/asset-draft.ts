/**
 * A draft's model and settings against its kind and the owner's provider. draft.settings holds
 * only what the kind knows (a seed; for a voice line also ElevenLabs' voice settings), each in
 * its documented range; the owner's provider must put each one on the wire (provider-catalog's
 * requestSettings), and draft.model must be one of that provider's models.
 */
import type { Sql, TransactionSql } from "../db/client.ts";
import { AppError, BadRequestError, ConflictError, quoted } from "../errors.ts";
import { VOICE_SETTING_RANGES } from "../providers/elevenlabs/elevenlabs-models.ts";
import { catalogEntry, type RequestSetting, speaksVoice } from "../providers/registry/provider-catalog.ts";
import type { ProviderType } from "../providers/types.ts";
import type { AssetDraft, RegenerateKind } from "./asset-target.ts";

export type GeneratedKind = Exclude<RegenerateKind, "script">;

/** The provider type that makes each kind. */
export const PROVIDER_TYPE_OF: Record<GeneratedKind, ProviderType> = {
  video: "video",
  audio: "audio",
  cover: "image",
  image: "image",
  music: "music",
};

const KIND_SETTINGS: Record<RegenerateKind, readonly RequestSetting[]> = {
  video: ["seed"],
  image: ["seed"],
  cover: ["seed"],
  music: ["seed"],
  audio: ["stability", "similarityBoost", "style", "speed", "seed"],
  script: [],
};

const RANGES: Record<RequestSetting, [number, number]> = { seed: [0, 4294967295], ...VOICE_SETTING_RANGES };

/** What the draft carries that its kind does not take, or out of range, named; null when it fits. */
export function draftProblem(kind: RegenerateKind, draft: AssetDraft): string | null {
  if (kind === "script" && (draft.model !== undefined || draft.settings !== undefined)) {
    return "draft.model and draft.settings do not apply to kind script: its draft is the prompt";
  }
  // The pipeline's own cue prompt is at most 500 characters, and so is Beatoven's.
  if (kind === "music" && draft.prompt !== undefined && draft.prompt.length > 500) {
    return "draft.prompt for kind music must be at most 500 characters";
  }
  const settings = draft.settings;
  if (settings === undefined) return null;
  const known = KIND_SETTINGS[kind];
  const unknown = Object.keys(settings).filter((key) => !(known as readonly string[]).includes(key));
  if (unknown.length) {
    const names = unknown.slice(0, 10).map((key) => quoted(key)).join(", ") +
      (unknown.length > 10 ? ` and ${unknown.length - 10} more` : "");
    return `draft.settings: ${names} ${
      unknown.length === 1 ? "is not a setting" : "are not settings"
    } of kind ${kind}; it takes ${known.length ? known.join(", ") : "none"}`;
  }
  for (const [key, value] of Object.entries(settings)) {
    const [min, max] = RANGES[key as RequestSetting];
    const whole = key === "seed";
    if (typeof value !== "number" || !(value >= min && value <= max) || (whole && !Number.isInteger(value))) {
      return `draft.settings.${key} must be ${whole ? "a whole number" : "a number"} in ${min}..${max}`;
    }
  }
  return null;
}

export interface OwnerProvider {
  provider: string;
  model: string;
  source: "user" | "project" | "fallback";
}

/**
 * Throws 400 for a model, setting or voice the owner's provider does not take, 403 for a model other
 * than a project default's own (model_not_allowed), 409 for music when the
 * owner has no music provider (the pipeline made the film without music: there is nothing to
 * regenerate with).
 */
export function assertDraftFitsProvider(
  kind: GeneratedKind,
  movieId: string,
  owner: OwnerProvider,
  draft: AssetDraft,
): void {
  const type = PROVIDER_TYPE_OF[kind];
  if (type === "music" && owner.source === "fallback") {
    throw new ConflictError(
      "no_music_provider",
      `Movie ${movieId}'s owner has no music provider, so the film has no music to regenerate; register one with the providers function (providerType music)`,
    );
  }
  const entry = catalogEntry(type, owner.provider);
  if (!entry) return;
  if (draft.model !== undefined && !entry.models.includes(draft.model)) {
    throw new BadRequestError(
      "invalid_model",
      `draft.model ${
        quoted(draft.model)
      } is not a model of the owner's ${type} provider ${owner.provider}; expected one of: ${
        entry.models.join(", ")
      }`,
    );
  }
  // The project's key pays for what runs on it, and a regeneration weighs the same in a user's
  // quota whatever its model: on a project default, its model for everyone.
  if (draft.model !== undefined && owner.source === "project" && draft.model !== owner.model) {
    throw new AppError(
      "model_not_allowed",
      403,
      `draft.model ${
        quoted(draft.model)
      } cannot run on the project's default ${type} provider ${owner.provider}, which runs ${owner.model} for every user on the project's key; register your own ${type} provider with the providers function to choose its model`,
    );
  }
  // Checked here, before anything is charged, rather than by the adapter once the run is paid for.
  const voice = draft.voice === undefined ? null : entry.voice?.safeParse(draft.voice);
  if (voice && !voice.success) {
    throw new BadRequestError(
      "invalid_voice",
      `draft.voice must be a voice of the owner's ${type} provider ${owner.provider}: ${
        voice.error.issues[0].message
      }`,
    );
  }
  const model = draft.model ?? owner.model;
  const takes = entry.modelRequestSettings?.(model) ?? entry.requestSettings ?? [];
  const unsupported = Object.keys(draft.settings ?? {}).filter((key) =>
    !takes.includes(key as RequestSetting)
  );
  if (unsupported.length) {
    const hint = unsupported.includes("seed") ? "; leave it out: every run without a seed is a new take" : "";
    throw new BadRequestError(
      "unsupported_setting",
      `draft.settings: the owner's ${type} provider ${owner.provider}${
        entry.modelRequestSettings ? ` ${model}` : ""
      } takes no ${unsupported.join(", ")}${hint}`,
    );
  }
}

/** A dialogue line as its regeneration reads it: its words and voice, and its character's. */
export interface DialogueLine {
  sceneId: string;
  lineIndex: number;
  text: string;
  voiceId: string;
  /** The line's character's voice in the owner's library; null without one. */
  libraryVoice: string | null;
}

/** The line, with its character's library voice; null when it no longer exists. */
export async function dialogueLine(db: Sql | TransactionSql, lineId: string): Promise<DialogueLine | null> {
  const [line] = await db`
    select l.scene_id, l.line_index, l.text, l.voice_id, c.voice_id as library_voice
      from public.scene_audio l left join public.characters c on c.id = l.character_id
     where l.id = ${lineId}`;
  return line
    ? {
      sceneId: line.scene_id,
      lineIndex: line.line_index,
      text: line.text,
      voiceId: line.voice_id,
      libraryVoice: line.library_voice,
    }
    : null;
}

/**
 * The voice a dialogue line is voiced again with when the draft names none: its own, when the
 * owner's audio provider speaks it; else its character's in the owner's library (where a film cast
 * since keeps the provider's voice), when spoken; else null. A line voiced on `local`
 * (`voice-ada`) regenerated once its owner had moved to ElevenLabs was sent with that id, which
 * ElevenLabs' adapter refuses: the run was admitted and counted, then failed.
 */
export function lineVoice(line: DialogueLine, provider: string): string | null {
  return [line.voiceId, line.libraryVoice].find((id): id is string =>
    typeof id === "string" && speaksVoice(provider, id)
  ) ?? null;
}

/** 400 invalid_voice for a line whose voice (and its character's) the owner's provider cannot speak. */
export function unspokenVoice(was: string, provider: string): BadRequestError {
  return new BadRequestError(
    "invalid_voice",
    `the line's voice ${
      quoted(was)
    } is not one the owner's audio provider ${provider} speaks, nor is its character's; send draft.voice with one of ${provider}'s voices`,
  );
}
