/**
 * Which failures belong to a scene (recorded on its row, the film goes on) and which are the
 * task's to retry. Shared by the scene steps and regenerate-asset.
 */
import { AppError } from "../errors.ts";
import { ProviderError } from "../providers/provider-errors.ts";

/** A scene's own failure: a refused or unusable output. */
export class SceneFailure extends Error {}

/** Failures that belong to the scene (refusals, bad output); anything else is the task's to retry. */
export function isSceneFailure(error: unknown): boolean {
  return error instanceof SceneFailure || (error instanceof ProviderError && !error.retryable) ||
    (error instanceof AppError && error.status < 500);
}
