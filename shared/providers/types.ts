/**
 * One small interface per provider type. Adapters (shared/providers/<provider>/) implement them
 * over a provider's HTTP API; the offline `local` providers implement them over the render
 * worker's FFmpeg/espeak-ng jobs. Pipelines only ever see these interfaces.
 *
 * Paid asynchronous work is split into `submit` (returns the provider's job id, recorded at once
 * by ctx.providerStep) and `poll` (never sleeps; answers the job's state now), so a resumed task
 * polls the job it already paid for instead of submitting again.
 */
import type { z } from "zod";

export const PROVIDER_TYPES = [
  "llm",
  "video",
  "image",
  "audio",
  "lipsync",
  "music",
  "render",
  "search",
] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/** The state of a provider job right now. `url` outputs expire: copy them into Storage at once. */
export type JobState<T> =
  | { state: "pending" | "running"; progress?: number; /** e.g. Runway THROTTLED */ detail?: string }
  | { state: "succeeded"; output: T }
  | { state: "failed"; failureCode: string; message: string };

/** Who pays for a provider's calls: the user's own key, the project's key, or nobody (our machines). */
export type Payer = "user" | "project" | "free";

/** What every adapter says of itself; each call's metric row records it (movie_step_metrics). */
export interface ProviderIdentity {
  readonly provider: string;
  readonly model: string;
  /**
   * Set by the registry from the row the adapter was built from (build-providers.ts): a provider
   * name alone does not say whose key a call uses (fal makes images and renders, and a user's own
   * fal row for one leaves the other on the project's key).
   */
  readonly paidBy?: Payer;
}

/** An asynchronous provider job: submit once, poll until it ends, cancel on request. */
export interface JobProvider<Request, Output> extends ProviderIdentity {
  /** Checks the request against the model's rules without any network call; throws ProviderInputError. */
  validate(request: Request): void;
  /** Starts the (paid) job; returns the provider's job id. */
  submit(request: Request): Promise<string>;
  poll(jobId: string): Promise<JobState<Output>>;
  cancel(jobId: string): Promise<void>;
  /** Its job ids are background task ids (worker jobs): callers wait for them parked, not polling. */
  readonly jobsAreTasks?: boolean;
  /**
   * How long one job may run from its recorded submission before it is cancelled and failed
   * (`provider_timeout`); set by the registry from the provider row (job-deadline.ts).
   */
  readonly deadlineMs?: number;
}

export interface UrlOutput {
  url: string;
  contentType?: string;
}

// --- llm ------------------------------------------------------------------------------------

export interface JsonRequest<T> {
  /** The json_schema name, e.g. "screenplay". */
  name: string;
  /** A strict JSON schema: every property required, additionalProperties false. */
  schema: Record<string, unknown>;
  /** Validates the parsed answer; a mismatch is an error, never a half result. */
  parse: z.ZodType<T>;
  system: string;
  user: string;
  maxTokens?: number;
  temperature?: number;
}

export interface LlmUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface LlmProvider extends ProviderIdentity {
  /** Structured output; refusals and truncation (finish_reason "length") throw ProviderError. */
  generateJson<T>(request: JsonRequest<T>): Promise<{ value: T; usage: LlmUsage }>;
}

// --- video / image / lipsync / music / render (jobs) --------------------------------------

export interface VideoRequest {
  promptText: string;
  /** https URL of the first frame; text-to-video when absent and the model allows it. */
  promptImage?: string;
  /** "1280:720" style, checked per model. */
  ratio: string;
  durationSeconds: number;
  seed?: number;
}
export type VideoProvider = JobProvider<VideoRequest, UrlOutput> & {
  /**
   * What the user registered for this provider: a ratio or duration replaces the film's own choice
   * (videoShape), a seed is sent when the request has none. Callers put them in their cache keys.
   */
  readonly registered?: { ratio?: string; durationSeconds?: number; seed?: number };
};

export interface ImageRequest {
  prompt: string;
  width: number;
  height: number;
  seed?: number;
  /** What the image is for; local providers draw a different composition per purpose. */
  purpose?: "location" | "character" | "poster" | "end_frame" | "thumbnail";
}
export type ImageProvider = JobProvider<ImageRequest, UrlOutput>;

export interface LipsyncRequest {
  videoUrl: string;
  audioUrl: string;
}
export type LipsyncProvider = JobProvider<LipsyncRequest, UrlOutput>;

export interface MusicRequest {
  prompt: string;
  durationSeconds: number;
}
export type MusicProvider = JobProvider<MusicRequest, UrlOutput>;

// --- audio (voice) ------------------------------------------------------------------------

export interface SpeechRequest {
  voiceId: string;
  text: string;
  /** ElevenLabs request stitching: ids of neighbouring lines' requests (≤ 3 each side). */
  previousRequestIds?: string[];
  nextRequestIds?: string[];
  /** Overrides the voice's stored settings for this request (ElevenLabs voice_settings). */
  voiceSettings?: VoiceSettings;
  /** Best-effort deterministic sampling, 0..4294967295. */
  seed?: number;
}

/** stability, similarityBoost and style 0..1; speed 0.7..1.2 (1 = the voice's own pace). */
export interface VoiceSettings {
  stability?: number;
  similarityBoost?: number;
  style?: number;
  speed?: number;
}

// A type, not an interface: it is stored as jsonb (Json in db/client.ts).
export type SpeechAlignment = {
  characters: string[];
  characterStartTimesSeconds: number[];
  characterEndTimesSeconds: number[];
};

export interface SpeechResult {
  audio: Uint8Array;
  contentType: string;
  /** Kept so that regenerating one line can be stitched to its neighbours. */
  requestId: string | null;
  alignment: SpeechAlignment | null;
  durationSeconds: number | null;
}

/** Text to speech is synchronous (one HTTP call per line); its bytes go into Storage at once. */
export interface VoiceProvider extends ProviderIdentity {
  speak(request: SpeechRequest): Promise<SpeechResult>;
}

// --- render -------------------------------------------------------------------------------

/** A clip on the timeline; times are in frames on the timeline's fps grid. */
export type TimelineClip = {
  url: string;
  inFrame: number;
  outFrame: number;
  /** Transition into the next clip. */
  transition?: { type: "cut" | "fade" | "dissolve"; frames: number };
};

export type TimelineAudio = {
  url: string;
  /** Where the track starts on the timeline, in frames. */
  startFrame: number;
  gainDb?: number;
};

/**
 * One colour grade for a whole film (shared/film/film-grade.ts derives it from the visual bible).
 * Every clip's mean chroma moves `strength` of the way to `target`'s, after `contrast` (luma) and
 * `saturation` (chroma, around neutral) are applied as FFmpeg `eq` does; shared/render/clip-grade.ts.
 */
export type TimelineGrade = {
  /** The film's look as one colour, `#rrggbb`: only its chroma is a target, not its lightness. */
  target: string;
  /** 0–1: the fraction of each clip's distance to the target's chroma that the grade removes. */
  strength: number;
  contrast: number;
  saturation: number;
};

// Types, not interfaces: a timeline travels as jsonb in a render job's payload.
export type Timeline = {
  fps: number;
  width: number;
  height: number;
  clips: TimelineClip[];
  dialogue: TimelineAudio[];
  music?: TimelineAudio & { duckDb?: number };
  /** Dialogue already inside the clips' own sound (lip-synced scenes): music ducks under it too. */
  speech?: { startFrame: number; frames: number }[];
  /** Integrated loudness target, LUFS (default -16). */
  loudnessLufs?: number;
  /** One grade for every clip; without it clips keep their own colours (and may be stream-copied). */
  grade?: TimelineGrade;
};

export type RenderRequest =
  | { op: "assemble"; timeline: Timeline; output: { bucket: string; path: string } }
  | {
    op: "mix_dialogue";
    clipUrl: string;
    dialogue: TimelineAudio[];
    fps: number;
    output: { bucket: string; path: string };
  }
  | { op: "extract_last_frame"; clipUrl: string; output: { bucket: string; path: string } }
  /** A scene's lines alone, as one AAC track (.m4a, 48 kHz) exactly durationFrames long: a lip sync input. */
  | {
    op: "dialogue_track";
    fps: number;
    durationFrames: number;
    dialogue: TimelineAudio[];
    output: { bucket: string; path: string };
  };

export type RenderProvider = JobProvider<RenderRequest, UrlOutput & { durationSeconds?: number }>;

// --- search (images found on the web) ----------------------------------------------------

export interface ImageSearchRequest {
  /** Free text, e.g. a location's name and description. */
  query: string;
  /** Most results wanted (the provider may return fewer). */
  limit: number;
}

/** One found image with what its reuse requires: its licence and the credit line to publish. */
export type ImageSearchResult = {
  /** The image file itself. */
  url: string;
  /** The work's page (where the licence applies); null when the provider has none. */
  sourceUrl: string | null;
  /** Declared by the provider; checked again before use, never trusted alone. */
  width: number | null;
  height: number | null;
  /** e.g. "by", "by-sa", "cc0", "pdm" (Openverse's codes). */
  license: string;
  licenseVersion: string | null;
  licenseUrl: string | null;
  creator: string | null;
  /** The credit line, as the provider composed it. */
  attribution: string;
};

/** Image search is synchronous (one HTTP call); results are candidates, checked before one is copied. */
export interface SearchProvider extends ProviderIdentity {
  /** Whether result URLs may be plain http on private hosts (local fakes, the local provider). */
  readonly allowInsecureUrls?: boolean;
  searchImages(request: ImageSearchRequest): Promise<ImageSearchResult[]>;
}

// --- registry -----------------------------------------------------------------------------

/** One row of api_providers, with its API key decrypted (never logged, never returned). */
export interface ProviderConfig {
  providerType: ProviderType;
  provider: string;
  model: string;
  settings: Record<string, unknown>;
  apiKey: string | null;
  concurrencyLimit: number;
}

export interface ProviderSet {
  llm: LlmProvider;
  video: VideoProvider;
  image: ImageProvider;
  audio: VoiceProvider;
  lipsync: LipsyncProvider | null;
  music: MusicProvider | null;
  render: RenderProvider;
  /** Optional: null unless the user (or the project) registered one; locations are then generated. */
  search: SearchProvider | null;
}
