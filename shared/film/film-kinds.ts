/**
 * Task kinds the film enqueues that other capabilities (regenerate-asset) enqueue too, with the
 * function that runs them. Here rather than beside their handlers so a caller needs no handler
 * module to name them.
 */

/** A scene's audio mix (scene-halves.ts), run by generate-audio. */
export const MIX_KIND = "film.mix";
export const MIX_WORKER = "generate-audio";

/** The film's assembly (assemble-task.ts), run by assemble. */
export const ASSEMBLE_KIND = "film.assemble";
