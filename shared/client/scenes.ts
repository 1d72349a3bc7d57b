/**
 * One scene made again on its own (shared/film/scene-actions.ts): generate-scene-video start (its
 * clip, as a film.chain of one scene) and generate-audio start (its voices, then its mix). Both
 * answer 202 with the task to follow through client.tasks; 409 movie_in_production while the
 * film is being made, 400 unknown_scene for a scene number the film lacks.
 */
import { type CallOptions, type FunctionsInvoker, invokeAction } from "./invoke-action.ts";

export interface SceneRef {
  movieId: string;
  /** 1 or more. */
  sceneNumber: number;
}

export interface SceneTaskStarted {
  taskId: string;
  movieId: string;
  sceneNumber: number;
}

export function sceneMethods(supabase: FunctionsInvoker) {
  return {
    generateVideo: ({ movieId, sceneNumber }: SceneRef, options?: CallOptions) =>
      invokeAction<SceneTaskStarted>(
        supabase,
        "generate-scene-video",
        "start",
        { movieId, sceneNumber },
        options,
      ),
    generateAudio: ({ movieId, sceneNumber }: SceneRef, options?: CallOptions) =>
      invokeAction<SceneTaskStarted>(supabase, "generate-audio", "start", { movieId, sceneNumber }, options),
  };
}
