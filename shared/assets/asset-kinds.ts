/** The task kinds regenerate-asset runs (asset-tasks.ts has their handlers). */
import type { TaskKind } from "../engine/task-routes.ts";

export const REGENERATE_KIND = "asset.regenerate" satisfies TaskKind;
export const APPLY_KIND = "asset.apply" satisfies TaskKind;
export const CLEANUP_KIND = "asset.cleanup" satisfies TaskKind;
