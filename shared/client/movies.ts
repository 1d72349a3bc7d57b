/**
 * produce-movie (quote / start / status / resume / cancel by movieId; shared/film/film-actions.ts) and
 * assemble (shared/film/scene-actions.ts). Status keeps the function's shapes: the movie and
 * progress in camelCase, scene rows and metrics as the columns they are read from (snake_case).
 */
import { type CallOptions, type FunctionsInvoker, invokeAction } from "./invoke-action.ts";
import type { TaskView, Timestamp } from "./tasks.ts";

export type Orientation = "landscape" | "portrait";
export type MovieState = "pending" | "processing" | "completed" | "failed" | "cancelled";

export const FILM_STEPS = [
  "validate_providers",
  "plan_production",
  "create_visual_bible",
  "generate_screenplay",
  "assign_characters",
  "generate_videos",
  "generate_audio",
  "generate_music",
  "assemble_movie",
  "generate_cover",
  "finalize",
] as const;
export type FilmStep = (typeof FILM_STEPS)[number];

export interface StartMovieInput {
  title: string;
  prompt: string;
  genre: string;
  /** Whole hundredths of a minute (as stored), from 0.01 to 30: 0.015 is refused. */
  durationMinutes: number;
  /** Left out: the way round of a ratio registered on the video provider, else landscape. */
  orientation?: Orientation;
  /** The film's cap on its paid jobs, in the providers' own units summed; more than 0. */
  maxCostUnits?: number;
}

/** produce-movie quote: what start's body would cost (shared/film/film-quote.ts), nothing written. */
export interface MovieQuote {
  sceneCount: number;
  perProvider: {
    provider: string;
    model: string;
    type: string;
    /** False for our own machines (local, the render worker): no cost, not in the totals. */
    paid: boolean;
    calls: number;
    units: number;
    unit: string;
  }[];
  /** Paid units by unit; capUnits: what maxCostUnits counts (paid jobs, not LLM tokens or TTS characters). */
  total: { units: Record<string, number>; capUnits: number };
  callsByKind: Record<string, number>;
  /** The longest path at documented typical seconds per call (film-quote.ts TYPICAL_SECONDS). */
  expectedWallSeconds: number;
  /** Which figures are estimates, and by what assumption (the screenplay is not written yet). */
  estimates: string[];
}

export interface MovieStarted {
  movieId: string;
  taskId: string;
}

export interface FilmStepState {
  status: "pending" | "running" | "completed" | "failed" | "skipped";
  progress: number;
  detail: string | null;
  started_at?: Timestamp;
  finished_at?: Timestamp;
}

export interface MovieProgress {
  overallStatus: "pending" | "running" | "completed" | "failed" | "cancelled";
  overallProgress: number;
  /** A step while the film is made; the end state (completed / failed / cancelled) once it ends. */
  currentStep: FilmStep | "completed" | "failed" | "cancelled" | null;
  currentStepDetail: string | null;
  steps: Record<FilmStep, FilmStepState>;
}

/** One movie_scenes row, as selected by status. */
export interface SceneRow {
  id: string;
  scene_number: number;
  status: "pending" | "generating" | "completed" | "failed";
  audio_status: "pending" | "generating" | "completed" | "failed" | "skipped";
  mix_status: "pending" | "running" | "completed" | "failed" | "skipped";
  is_continuation: boolean;
  continues_from: number | null;
  reference_image_source: "library" | "generated" | "previous_frame" | null;
  video_url: string | null;
  lipsync_url: string | null;
  end_frame_url: string | null;
  error_message: string | null;
  /** Seconds the scene plays: its shots' sum (numeric, as text). */
  duration_seconds: string;
  /** Made from a last frame that has since been replaced (docs/regenerate-asset.md). */
  stale: boolean;
  /** The scene's shots in order (docs/film-pipeline.md, "Shots"). */
  shots: ShotState[];
}

/** One scene_shots row, as status lists it. */
export interface ShotState {
  shotNumber: number;
  durationSeconds: number;
  status: "pending" | "generating" | "completed" | "failed";
  stale: boolean;
  referenceImageSource: "library" | "generated" | "previous_frame" | "previous_shot" | null;
  error: string | null;
}

/** Per step of movie_step_metrics (shared/film/film-metrics.ts metricsByStep). */
export interface StepMetric {
  step: string;
  calls: number;
  /** `provider/model`; null where a call recorded neither. */
  providers: Array<string | null>;
  /** Cost units by unit (seconds, images, ...); null when no call reported a cost. */
  cost: Record<string, number> | null;
  seconds: number;
  in_flight: number;
}

export interface MovieStatus {
  movie: {
    id: string;
    title: string;
    status: MovieState;
    progress: number;
    /** Signed URLs, like the scenes' (media is private): they serve until urlsExpireAt. */
    videoUrl: string | null;
    posterUrl: string | null;
    thumbnailUrl: string | null;
    errorMessage: string | null;
    warnings: string[];
    failedScenes: number[];
  };
  progress: MovieProgress | null;
  scenes: SceneRow[];
  metrics: StepMetric[];
  /** Units admitted for paid jobs so far, against the film's cap (null: none). */
  spend: { units: number; cap: number | null };
  elapsedSeconds: number;
  /** ISO time this answer's URLs stop serving (1 h by default); a later status call signs them afresh. */
  urlsExpireAt: string;
  task: TaskView | null;
  /** Set while the film is held up outside itself: no render worker has picked up its rendering. */
  waiting?: { on: "render_worker"; since: string; jobs: number; message: string } | null;
}

export interface MovieResumed {
  resumed: true;
  movieId: string;
  task: TaskView;
}

export interface MovieCancelled {
  cancelled: true;
  movieId: string;
}

export interface MovieTaskStarted {
  taskId: string;
  movieId: string;
}

/** The caller's usage limits (override over project default) and use in the rolling 24 h window. */
export interface UsageReport {
  limits: {
    filmsInProduction: number;
    filmsPerDay: number;
    regenerationsPerDay: number;
    costUnitsPerDay: number;
    resumesPerTask: number;
  };
  used: {
    filmsInProduction: number;
    filmsPerDay: number;
    regenerationsPerDay: number;
    costUnitsPerDay: number;
  };
  windowHours: number;
}

export const TERMINAL_MOVIE_STATES: readonly MovieState[] = ["completed", "failed", "cancelled"];

export const isMovieFinished = (state: MovieState) => TERMINAL_MOVIE_STATES.includes(state);

export function movieMethods(supabase: FunctionsInvoker) {
  const call = <T>(action: string, input: object, options?: CallOptions) =>
    invokeAction<T>(supabase, "produce-movie", action, input, options);
  return {
    /** 202: the movie, its progress row and its film.produce task, created together; 429 quota_exceeded over a usage limit. */
    quote: (input: StartMovieInput, options?: CallOptions) => call<MovieQuote>("quote", input, options),
    start: (input: StartMovieInput, options?: CallOptions) => call<MovieStarted>("start", input, options),
    status: (movieId: string, options?: CallOptions) => call<MovieStatus>("status", { movieId }, options),
    /** 202; a failed or cancelled film goes back to processing. 409 task_active / task_not_resumable / resume_limit_reached; 429 quota_exceeded. */
    resume: (movieId: string, options?: CallOptions) => call<MovieResumed>("resume", { movieId }, options),
    /** 409 task_finished when the film has already ended. */
    cancel: (movieId: string, options?: CallOptions) => call<MovieCancelled>("cancel", { movieId }, options),
    /** The caller's limits and use. */
    usage: (options?: CallOptions) => call<UsageReport>("usage", {}, options),
    /** 202: the film rendered again from its completed scenes; 409 movie_in_production while it is made. */
    assemble: (movieId: string, options?: CallOptions) =>
      invokeAction<MovieTaskStarted>(supabase, "assemble", "start", { movieId }, options),
  };
}
