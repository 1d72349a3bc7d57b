/**
 * How long a provider job may run before it is given up: cancelled at the provider and failed
 * with `provider_timeout` (film-jobs.ts). A default per provider type, overridden per registered
 * provider row (one type, one model) by its `jobDeadlineSeconds` setting. Measured from the
 * job's recorded submission, so it holds across slices and kills.
 */
import { z } from "zod";
import type { ProviderType } from "./types.ts";

/** The provider types whose work is a polled job. */
export type JobProviderType = "video" | "image" | "lipsync" | "music" | "render";

/**
 * Defaults, in seconds: generous against each provider's usual time (a Runway clip takes a minute
 * or two, an image seconds, a whole-film render the longest), short enough that a stuck job does
 * not hold its film for ever.
 */
export const DEFAULT_JOB_DEADLINE_SECONDS: Record<JobProviderType, number> = {
  video: 600,
  lipsync: 600,
  music: 600,
  image: 300,
  render: 1_800,
};

/** The bounds of the `jobDeadlineSeconds` setting: a few seconds (tests) to a day. */
export const JOB_DEADLINE_SECONDS_RANGE = { min: 1, max: 86_400 } as const;

/** The `jobDeadlineSeconds` setting, as a provider row's settings schema takes it. */
export const jobDeadlineSetting = z.number().int().min(JOB_DEADLINE_SECONDS_RANGE.min).max(
  JOB_DEADLINE_SECONDS_RANGE.max,
).optional();

/** The deadline, in ms, of a job of a provider of `type` registered with `settings`. */
export function jobDeadlineMs(type: ProviderType, settings: Record<string, unknown>): number {
  const own = settings.jobDeadlineSeconds;
  if (typeof own === "number" && Number.isFinite(own) && own > 0) return own * 1000;
  return (DEFAULT_JOB_DEADLINE_SECONDS[type as JobProviderType] ?? DEFAULT_JOB_DEADLINE_SECONDS.video) *
    1000;
}

/**
 * The settings an adapter sees: the row's, without the registry's own `jobDeadlineSeconds`
 * (an adapter refuses a setting its provider's API has not got).
 */
export function adapterSettings(settings: Record<string, unknown>): Record<string, unknown> {
  const { jobDeadlineSeconds: _registryOwn, ...rest } = settings;
  return rest;
}
