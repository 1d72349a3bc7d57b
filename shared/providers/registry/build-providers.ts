/**
 * Turns resolved provider configs into adapter objects: one constructor per (type, provider).
 * `local` builds the offline providers over local_media worker jobs; `worker` (and `local`) render
 * is the render worker, `fal` render is fal's hosted FFmpeg. A provider without an adapter answers
 * 501 naming it. HTTP adapters reach their provider's own host unless the operator's
 * `endpoints` (function secrets, never user settings: provider-endpoints.ts) say otherwise.
 * Their job requests carry signed URLs for our objects (signed-inputs.ts); the worker's do not.
 */
import type { Sql } from "../../db/client.ts";
import { NotImplementedError } from "../../errors.ts";
import type { ObjectStorage } from "../../storage/storage.ts";
import { createBeatovenMusic } from "../beatoven/beatoven-music.ts";
import { createElevenLabsVoice } from "../elevenlabs/elevenlabs-voice.ts";
import { createFalFfmpegRender } from "../fal/fal-ffmpeg.ts";
import { createFalImage } from "../fal/fal-image.ts";
import {
  createLocalImageProvider,
  createLocalLipsyncProvider,
  createLocalMusicProvider,
  createLocalVideoProvider,
  type LocalProviderDeps,
} from "../local/local-job-providers.ts";
import { createLocalLlm } from "../local/local-llm.ts";
import { createLocalSearchProvider } from "../local/local-search.ts";
import { createOpenverseSearch } from "../openverse/openverse-search.ts";
import { createLocalVoiceProvider } from "../local/local-voice.ts";
import { createOpenAiLlm } from "../openai/openai-llm.ts";
import type { RunwaySettings } from "../runway/runway-settings.ts";
import { createRunwayVideo } from "../runway/runway-video.ts";
import { createSyncLipsync } from "../sync/sync-lipsync.ts";
import { withSignedInputs } from "../signed-inputs.ts";
import { adapterSettings, jobDeadlineMs } from "../job-deadline.ts";
import type { JobProvider, Payer, ProviderSet, ProviderType } from "../types.ts";
import { endpointOptions, type ProviderEndpoints } from "./provider-endpoints.ts";
import type { ResolvedProvider, ResolvedProviders } from "./resolve-providers.ts";
import { createWorkerRenderProvider } from "../worker/worker-render-provider.ts";
import { ownerObjects } from "../../storage/owner-objects.ts";

export interface BuildProvidersDeps {
  sql: Sql;
  /** Whose jobs these are (the film's owner). */
  userId: string;
  storage: ObjectStorage;
  /** How long the local voice waits for its worker job. */
  localVoiceTimeoutMs?: number;
  /** Where the local search provider puts the images it makes; default "media". */
  bucket?: string;
  /** Operator API roots and the http switch (parseProviderEndpoints(config)); default: the providers' own https hosts. */
  endpoints?: ProviderEndpoints;
}

type Builders = {
  [T in ProviderType]: Record<string, (config: ResolvedProvider, deps: BuildProvidersDeps) => ProviderSet[T]>;
};

const localDeps = (config: ResolvedProvider, deps: BuildProvidersDeps): LocalProviderDeps => ({
  sql: deps.sql,
  userId: deps.userId,
  concurrencyKey: config.concurrencyKey,
});

/** The decrypted key; a keyed row without one is a broken row, not a user error. */
function keyOf(config: ResolvedProvider): string {
  if (!config.apiKey) {
    throw new Error(`${config.providerType} provider ${config.provider} (${config.id}) has no API key`);
  }
  return config.apiKey;
}

/** The row's settings as its adapter takes them (without the registry's own jobDeadlineSeconds). */
const settings = <T>(config: ResolvedProvider) => adapterSettings(config.settings) as T;

const BUILDERS: Builders = {
  llm: {
    local: () => createLocalLlm(),
    openai: (c, d) =>
      createOpenAiLlm({
        apiKey: keyOf(c),
        model: c.model,
        ...settings<{ organization?: string }>(c),
        ...endpointOptions(d.endpoints, "openai"),
      }),
  },
  video: {
    local: (c, d) => createLocalVideoProvider(localDeps(c, d)),
    runway: (c, d) =>
      createRunwayVideo({
        apiKey: keyOf(c),
        model: c.model,
        settings: settings<RunwaySettings>(c),
        ...endpointOptions(d.endpoints, "runway"),
      }),
  },
  image: {
    local: (c, d) => createLocalImageProvider(localDeps(c, d)),
    fal: (c, d) =>
      createFalImage({
        apiKey: keyOf(c),
        model: c.model,
        ...settings<{ numInferenceSteps?: number; enableSafetyChecker?: boolean }>(c),
        ...endpointOptions(d.endpoints, "fal"),
      }),
  },
  audio: {
    local: (c, d) =>
      createLocalVoiceProvider(localDeps(c, d), { storage: d.storage, timeoutMs: d.localVoiceTimeoutMs }),
    elevenlabs: (c, d) =>
      createElevenLabsVoice({
        apiKey: keyOf(c),
        model: c.model,
        outputFormat: settings<{ outputFormat?: string }>(c).outputFormat,
        ...endpointOptions(d.endpoints, "elevenlabs"),
      }),
  },
  lipsync: {
    local: (c, d) => createLocalLipsyncProvider(localDeps(c, d)),
    sync: (c, d) =>
      createSyncLipsync({
        apiKey: keyOf(c),
        model: c.model,
        ...settings<{ syncMode?: "cut_off" | "loop" | "bounce" | "silence" | "remap" }>(c),
        ...endpointOptions(d.endpoints, "sync"),
      }),
  },
  music: {
    local: (c, d) => createLocalMusicProvider(localDeps(c, d)),
    beatoven: (c, d) =>
      createBeatovenMusic({
        apiKey: keyOf(c),
        model: c.model,
        ...settings<{ format?: "mp3" | "aac" | "wav"; looping?: boolean }>(c),
        ...endpointOptions(d.endpoints, "beatoven"),
      }),
  },
  render: {
    local: (c, d) => createWorkerRenderProvider(localDeps(c, d)),
    worker: (c, d) => createWorkerRenderProvider(localDeps(c, d)),
    fal: (c, d) => createFalFfmpegRender({ apiKey: keyOf(c), ...endpointOptions(d.endpoints, "fal") }),
  },
  search: {
    local: (_c, d) => createLocalSearchProvider({ storage: d.storage, bucket: d.bucket ?? "media" }),
    openverse: (c, d) =>
      createOpenverseSearch({
        apiKey: keyOf(c),
        model: c.model,
        ...settings<{ licenseType?: "commercial" | "modification" }>(c),
        ...endpointOptions(d.endpoints, "openverse"),
      }),
  },
};

/** Providers that are our own render worker's jobs: it reads our objects with the service role. */
const WORKER_PROVIDERS = new Set(["local", "worker"]);

/** Whose key the adapter built from this row calls with: our own machines cost nobody anything. */
export function payerOf(config: Pick<ResolvedProvider, "provider" | "source">): Payer {
  if (WORKER_PROVIDERS.has(config.provider)) return "free";
  return config.source === "user" ? "user" : "project";
}

function build<T extends ProviderType>(
  type: T,
  config: ResolvedProvider,
  deps: BuildProvidersDeps,
): ProviderSet[T] {
  const builder = Object.hasOwn(BUILDERS[type], config.provider)
    ? BUILDERS[type][config.provider]
    : undefined;
  if (!builder) {
    throw new NotImplementedError(
      `${type} provider "${config.provider}" has no adapter in this build yet; register another ${type} provider or use local`,
    );
  }
  const built = builder(config, deps);
  if (built) Object.assign(built, { paidBy: payerOf(config) });
  // A provider elsewhere fetches its inputs over HTTP: our addresses in them are signed per
  // submission, and its jobs have a deadline (our worker's jobs are our own tasks, bounded there).
  if (built && "submit" in built && !WORKER_PROVIDERS.has(config.provider)) {
    const job = { ...built, deadlineMs: jobDeadlineMs(type, config.settings) } as JobProvider<
      unknown,
      unknown
    >;
    return withSignedInputs(
      job,
      deps.storage,
      ownerObjects(deps.userId, deps.bucket ?? "media"),
    ) as ProviderSet[T];
  }
  return built;
}

export function buildProviders(resolved: ResolvedProviders, deps: BuildProvidersDeps): ProviderSet {
  return {
    llm: build("llm", resolved.llm, deps),
    video: build("video", resolved.video, deps),
    image: build("image", resolved.image, deps),
    audio: build("audio", resolved.audio, deps),
    lipsync: build("lipsync", resolved.lipsync, deps),
    music: build("music", resolved.music, deps),
    render: build("render", resolved.render, deps),
    // Optional: without a registered search provider, locations are generated as before.
    search: resolved.search.source === "fallback" ? null : build("search", resolved.search, deps),
  };
}
