/**
 * What the demo's HTML report shows: DemoReport and its parts. Its own module so the summaries
 * (report-summaries.ts), the views and collectReport (report-data.ts) all read one shape without
 * importing each other.
 */
export type ReferenceImageSource = "previous_frame" | "library" | "generated";

/** Where a shot's first frame came from: the scene's reference (shot 1) or the shot before's last frame. */
export type ShotReferenceSource = ReferenceImageSource | "previous_shot";

export interface FilmReport {
  movieId: string;
  title: string;
  prompt: string;
  status: string;
  /** The length asked for (movies.duration_minutes × 60). */
  askedSeconds: number;
  /** Measured on the downloaded file (ffprobe); null without a film. */
  durationSeconds: number | null;
  videoFile: string | null;
  posterFile: string | null;
  createdAt: string;
  completedAt: string | null;
  errorMessage?: string;
}

export interface SceneReport {
  sceneNumber: number;
  status: string;
  errorMessage?: string;
  /** The scene as the film uses it (mixed or lip-synced when it was, else the raw clip). */
  videoFile?: string;
  /** A frame of the scene's clip; movie_scenes has no thumbnail of its own. */
  thumbnailFile?: string;
  endFrameFile?: string;
  referenceImageFile?: string;
  referenceImageSource: ReferenceImageSource | null;
  durationSeconds?: number;
  /** The scene's shots in order (scene_shots): each one clip of the video model. */
  shots: ShotReport[];
  lines: { character: string; text: string; audioFile?: string; errorMessage?: string }[];
}

export interface ShotReport {
  shotNumber: number;
  durationSeconds: number;
  status: string;
  referenceImageSource: ShotReferenceSource | null;
  errorMessage?: string;
}

export type StepStatus = "pending" | "running" | "completed" | "failed" | "skipped";

/**
 * One row of the time-and-cost table: a film step (movie_creation_progress) with no paid calls, or
 * one provider/model/unit of a step's calls (movie_step_metrics). Cost is in the provider's own
 * units (tokens, characters, seconds, images, renders, clips): the demo's providers are fakes.
 */
export interface StepReport {
  name: string;
  status: StepStatus;
  startedAt?: string;
  completedAt?: string;
  /** Wall time, first start to last end: parallel calls overlap. */
  seconds: number;
  /** Sum of the calls' own durations; equal to `seconds` when they ran one after another. */
  busySeconds?: number;
  calls?: number;
  failedCalls?: number;
  provider?: string;
  model?: string;
  costUnits?: number;
  costUnit?: string;
  detail?: string;
}

/** A background task of the film, one bar of the Gantt chart. */
export interface TaskReport {
  id: string;
  kind: string;
  label: string;
  /** Enqueued: the bar's queued part runs from here to startedAt. */
  createdAt: string;
  /** First claimed; null when it never ran. */
  startedAt: string | null;
  /** Finished (any end state); null while still running. */
  endedAt: string | null;
  status: string;
  /** background_tasks.attempts: attempts that failed. A lease lost to a kill is not counted there. */
  failedAttempts: number;
  parentId?: string;
}

export interface KillReport {
  at: string;
  function: string;
}

/**
 * produce-movie quote's lines (asked before the film started) beside what the film submitted:
 * per provider/model/unit, quoted calls and units against movie_step_metrics' calls and units.
 */
export interface QuoteRow {
  provider: string;
  model: string;
  type: string;
  unit: string;
  paid: boolean;
  quotedCalls: number;
  quotedUnits: number;
  spentCalls: number;
  spentUnits: number;
}

export interface QuoteReport {
  rows: QuoteRow[];
  expectedWallSeconds: number;
  estimates: string[];
}

export interface DemoReport {
  film: FilmReport;
  /** The quote beside the spend; absent when no quote was asked. */
  quote?: QuoteReport;
  scenes: SceneReport[];
  steps: StepReport[];
  tasks: TaskReport[];
  kills: KillReport[];
  summary: {
    wallSeconds: number;
    tasks: number;
    kills: number;
    /** Tasks with a failed attempt (retried, or failed for good). */
    retriedTasks: number;
    /** Most tasks running at one moment, the produce task (which spans the film) not counted. */
    maxParallelTasks: number;
    scenes: number;
    failedScenes: number;
  };
  /** Media that could not be downloaded or read; the report shows them instead of failing. */
  warnings: string[];
  generatedAt: string;
  machine: string;
}
