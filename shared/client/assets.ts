/**
 * regenerate-asset (shared/assets/asset-actions.ts): start a run that makes a preview of a new
 * version, then accept it (it becomes current) or reject it (the draft stays for a retry).
 */
import { type CallOptions, type FunctionsInvoker, invokeAction } from "./invoke-action.ts";
import type { TaskView } from "./tasks.ts";

/**
 * video: one scene's clip; audio: one dialogue line; cover, script and music: the film's; image: a
 * character portrait or a location image of the film (library entries: a location image is shared
 * by all the owner's films, so accepting one replaces it for their future scenes).
 */
export type AssetKind = "video" | "audio" | "cover" | "script" | "music" | "image";

/**
 * video needs sceneNumber (and shotNumber when the scene is cut into more than one shot); audio
 * needs sceneNumber and lineIndex; cover, script and music neither; image exactly one of
 * characterId and locationImageId.
 */
export interface AssetTarget {
  movieId: string;
  sceneNumber?: number;
  shotNumber?: number;
  lineIndex?: number;
  characterId?: string;
  locationImageId?: string;
}

/**
 * text and voice apply to audio only. model: another model of the owner's provider for the kind.
 * settings: `seed` (video, image, cover; music only where the provider has one), and for audio
 * `stability`, `similarityBoost`, `style` (0..1), `speed` (0.7..1.2), `seed`. Each run is a new,
 * paid take (a fresh seed, or a take number where the model has none); only the same draft with a
 * pinned `settings.seed` again is the same take, and may be a free copy.
 */
export interface AssetDraft {
  prompt?: string;
  text?: string;
  voice?: string;
  model?: string;
  settings?: Record<string, unknown>;
}

export interface StartAssetRunInput {
  kind: AssetKind;
  target: AssetTarget;
  draft?: AssetDraft;
}

export interface AssetRunStarted {
  runId: string;
  /** null for script: the draft itself is the preview, nothing is generated until accept. */
  taskId: string | null;
  slot: string;
  kind: AssetKind;
}

export interface AssetRunAccepted {
  accepted: true;
  runId: string;
  slot: string;
  version: number;
  /** A signed URL (media is private); it serves until urlsExpireAt. */
  url: string | null;
  /** ISO time the URLs in this answer stop serving (REELFORGE_SIGNED_URL_TTL_SECONDS, 1 h by default); ask again for fresh ones. */
  urlsExpireAt: string;
  /** video and audio: the task that remixes the scene and reassembles the film; music: that reassembles it. */
  applyTaskId?: string;
  /** script: the film's restarted produce-movie task. */
  produceTaskId?: string;
  /** video: the scenes continuing from the old last frame, now stale (docs/regenerate-asset.md). */
  staleScenes?: number[];
  /** video, a shot: the film's stale shots. */
  staleShots?: { sceneNumber: number; shotNumber: number }[];
  /** video: whether those are being regenerated from the new last frame. */
  cascade?: boolean;
}

export interface AssetRunRejected {
  rejected: true;
  runId: string;
  draft: AssetDraft;
}

export type AssetRunState = "running" | "preview" | "accepted" | "rejected" | "failed";

export interface AssetRunStatus {
  run: {
    id: string;
    slot: string;
    kind: AssetKind;
    target: AssetTarget;
    draft: AssetDraft;
    status: AssetRunState;
    error: string | null;
    baseVersion: number | null;
    /** A cascade run: the accepted run whose new last frame it continues from. */
    cascadeOf: string | null;
  };
  /** video: whether this scene was made from a last frame since replaced. */
  stale?: boolean;
  /** video: the film's stale scenes. */
  staleScenes?: number[];
  /** video, a shot: the film's stale shots. */
  staleShots?: { sceneNumber: number; shotNumber: number }[];
  preview: {
    version: number;
    state: "draft" | "preview" | "current" | "superseded";
    params: Record<string, unknown>;
    contentHash: string | null;
    /** A signed URL, as every URL here: previews live in the private bucket like everything else. */
    url: string | null;
  } | null;
  current: { version: number; url: string | null } | null;
  /** ISO time the URLs in this answer stop serving; ask for the status again for fresh ones. */
  urlsExpireAt: string;
  task: TaskView | null;
  applyTask: TaskView | null;
}

export function assetMethods(supabase: FunctionsInvoker) {
  const call = <T>(action: string, input: object, options?: CallOptions) =>
    invokeAction<T>(supabase, "regenerate-asset", action, input, options);
  return {
    /** 202; 400 invalid_target when kind and target do not fit, 409 movie_in_production. */
    start: (input: StartAssetRunInput, options?: CallOptions) =>
      call<AssetRunStarted>("start", input, options),
    /**
     * 409 asset_run_stale when a newer accept won, 409 asset_run_not_preview. cascade (clips,
     * default true): regenerate the scenes continuing from the new last frame.
     */
    accept: (runId: string, options?: CallOptions, input: { cascade?: boolean } = {}) =>
      call<AssetRunAccepted>("accept", { runId, ...input }, options),
    /** 409 asset_run_decided once it was accepted, rejected or failed. */
    reject: (runId: string, options?: CallOptions) => call<AssetRunRejected>("reject", { runId }, options),
    status: (runId: string, options?: CallOptions) => call<AssetRunStatus>("status", { runId }, options),
  };
}
