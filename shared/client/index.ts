/**
 * Reelforge's typed client for front ends: `createReelforgeClient(supabase)` and `watchMovie`.
 * It imports nothing outside this folder — no supabase-js, no Deno or Node APIs, no server code —
 * so a browser bundle, Node and Deno can all load it.
 */
export { createReelforgeClient, type ReelforgeClient, type ReelforgeSupabase } from "./reelforge-client.ts";
export { type MovieWatch, watchMovie, type WatchMovieOptions } from "./watch-movie.ts";
export { ReelforgeError, type ReelforgeErrorInit } from "./reelforge-error.ts";
export type { CallOptions, FunctionsInvoker } from "./invoke-action.ts";
export type { PostgresChangesFilter, RealtimeChannelLike, RealtimeSource } from "./realtime-source.ts";
export type {
  TaskCancelled,
  TaskError,
  TaskFunction,
  TaskResumed,
  TaskStatus,
  TaskStatusAnswer,
  TaskView,
  Timestamp,
} from "./tasks.ts";
export {
  FILM_STEPS,
  type FilmStep,
  type FilmStepState,
  isMovieFinished,
  type MovieCancelled,
  type MovieProgress,
  type MovieResumed,
  type MovieStarted,
  type MovieState,
  type MovieStatus,
  type MovieTaskStarted,
  type Orientation,
  type SceneRow,
  type StartMovieInput,
  type StepMetric,
  TERMINAL_MOVIE_STATES,
} from "./movies.ts";
export type { SceneRef, SceneTaskStarted } from "./scenes.ts";
export type {
  AssetDraft,
  AssetKind,
  AssetRunAccepted,
  AssetRunRejected,
  AssetRunStarted,
  AssetRunState,
  AssetRunStatus,
  AssetTarget,
  StartAssetRunInput,
} from "./assets.ts";
export type {
  CloneCancelled,
  CloneHostingRefusal,
  CloneJob,
  CloneJobStatus,
  CloneMismatch,
  ClonePhase,
  CloneRestarted,
  CloneResumed,
  CloneStarted,
  CloneWarning,
  StartCloneInput,
} from "./clones.ts";
export type {
  EffectiveProvider,
  ProviderAnswer,
  ProviderList,
  ProviderRow,
  ProviderType,
  RegisterProviderInput,
} from "./providers.ts";
