/**
 * Task kinds the film enqueues that other capabilities (regenerate-asset) enqueue too. Here rather
 * than beside their handlers so a caller needs no handler module to name them; the function that
 * runs each comes from TASK_ROUTES.
 */
import type { TaskKind } from "../engine/task-routes.ts";

/** The film's own task (produce-task.ts), run by produce-movie: its first run and a redo of what failed. */
export const PRODUCE_KIND = "film.produce" satisfies TaskKind;

/** A scene's audio mix (scene-halves.ts), run by generate-audio. */
export const MIX_KIND = "film.mix" satisfies TaskKind;

/** The film's assembly (assemble-task.ts), run by assemble. */
export const ASSEMBLE_KIND = "film.assemble" satisfies TaskKind;
