/**
 * The assembly's validation rules: a URL counts only if it is a real string; only
 * `completed` scenes with one are assembled, in scene order; with none left the error names how
 * many failed and how many were invalid (and how many the film's spending cap refused); a film is
 * `failed` only when every scene failed.
 */
import { BUDGET_EXCEEDED } from "./film-budget.ts";

/** Not null, not blank, not the strings "null" / "undefined". */
export function isValidMediaUrl(url: string | null | undefined): url is string {
  return typeof url === "string" && url.trim() !== "" && url !== "null" && url !== "undefined";
}

export interface SceneVideo {
  scene_number: number;
  status: string;
  video_url: string | null;
  error_message?: string | null;
}

export class NoVideosToAssembleError extends Error {
  constructor(
    readonly failed: number,
    readonly invalid: number,
    readonly refused = 0,
    readonly cap: number | null = null,
  ) {
    const capped = cap === null ? "" : ` of ${cap} units`;
    super(
      `No videos to assemble: Failed=${failed}, Invalid=${invalid}` +
        (refused > 0 ? ` (${refused} refused by the film's spending cap${capped})` : ""),
    );
    this.name = "NoVideosToAssembleError";
  }
}

/**
 * A scene that failed because the film's cap refused one of its paid jobs: its error quotes the
 * refusal's code after what it was making ("video generation failed: budget_exceeded: …").
 */
export function refusedByCap(scene: SceneVideo): boolean {
  return scene.status === "failed" && (scene.error_message ?? "").includes(`${BUDGET_EXCEEDED}:`);
}

/**
 * The clips to assemble, sorted by scene_number; throws NoVideosToAssembleError when none remain,
 * naming the scenes the film's cap (movies.max_cost_units) refused.
 */
export function selectClipsForAssembly<T extends SceneVideo>(videos: T[], cap: number | null = null): T[] {
  const kept = videos.filter((v) => v.status === "completed" && isValidMediaUrl(v.video_url));
  if (kept.length === 0) {
    const failed = videos.filter((v) => v.status === "failed").length;
    const invalid = videos.filter((v) => v.status === "completed" && !isValidMediaUrl(v.video_url)).length;
    throw new NoVideosToAssembleError(failed, invalid, videos.filter(refusedByCap).length, cap);
  }
  return [...kept].sort((a, b) => a.scene_number - b.scene_number);
}

export interface FinalVerdict {
  status: "completed" | "failed";
  /** Set when some (not all) scenes failed: the film completes with this warning. */
  warning: string | null;
}

/** Seed finalize: all scenes failed (or no film was assembled) → failed; some → completed with a warning. */
export function finalMovieStatus(
  totalScenes: number,
  failedScenes: number[],
  assembled: boolean,
): FinalVerdict {
  if (!assembled || totalScenes === 0 || failedScenes.length >= totalScenes) {
    return { status: "failed", warning: null };
  }
  if (failedScenes.length === 0) return { status: "completed", warning: null };
  const list = [...failedScenes].sort((a, b) => a - b).join(", ");
  return {
    status: "completed",
    warning: `${failedScenes.length} of ${totalScenes} scenes failed (${list}) and are left out`,
  };
}
