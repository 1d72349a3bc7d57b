/**
 * What a film task needs besides its context: the owner's providers (registry: user row →
 * project default → local), Storage, the media bucket and the poll interval. Built per slice,
 * since a slice may run on any worker.
 */
import type { Config } from "../config.ts";
import type { Sql } from "../db/client.ts";
import type { TaskStore } from "../engine/task-store.ts";
import { buildProviders } from "../providers/registry/build-providers.ts";
import { parseProviderEndpoints } from "../provider-endpoints-config.ts";
import { type ResolvedProviders, resolveProviders } from "../providers/registry/resolve-providers.ts";
import type { ProviderSet, ProviderType } from "../providers/types.ts";
import { createStorage, type ObjectStorage } from "../storage/index.ts";
import { ownerObjects, readableObject } from "../storage/owner-objects.ts";

export interface FilmDeps {
  config: Config;
  sql: Sql;
  store: TaskStore;
}

export interface FilmEnv extends FilmDeps {
  userId: string;
  resolved: ResolvedProviders;
  providers: ProviderSet;
  storage: ObjectStorage;
  bucket: string;
  pollMs: number;
  allowInsecureUrls: boolean;
}

/**
 * `models` swaps the registered model of a type for another one of the same provider (a
 * regenerate draft's `model`; the caller checked it against the provider's catalog).
 */
/**
 * What a URL handed to the film's work names (owner-objects.ts readableObject): one of the film
 * owner's objects, "not_yours" for another of ours, or null for a URL elsewhere.
 */
export const filmObject = (env: FilmEnv, url: string) =>
  readableObject(env.storage, url, ownerObjects(env.userId, env.bucket));

export async function filmEnv(
  deps: FilmDeps,
  userId: string,
  options: { models?: Partial<Record<ProviderType, string>> } = {},
): Promise<FilmEnv> {
  const storage = createStorage(deps.config, deps.sql);
  const endpoints = parseProviderEndpoints(deps.config);
  const resolved = await resolveProviders(deps.sql, userId, deps.config);
  for (const [type, model] of Object.entries(options.models ?? {})) {
    if (model !== undefined) resolved[type as ProviderType] = { ...resolved[type as ProviderType], model };
  }
  const providers = buildProviders(resolved, {
    sql: deps.sql,
    userId,
    storage,
    endpoints,
    bucket: deps.config.REELFORGE_MEDIA_BUCKET,
  });
  return {
    ...deps,
    userId,
    resolved,
    providers,
    storage,
    bucket: deps.config.REELFORGE_MEDIA_BUCKET,
    pollMs: deps.config.REELFORGE_PROVIDER_POLL_MS,
    allowInsecureUrls: endpoints.allowInsecureUrls,
  };
}

/** Optional types (lip sync, music) count only when configured; the local fallback is not a choice. */
export const isConfigured = (env: FilmEnv, type: "lipsync" | "music") =>
  env.resolved[type].source !== "fallback";

/** `films/<user>/<movie>/<name>`: one folder per film. */
export const filmPath = (env: FilmEnv, movieId: string, name: string) =>
  `films/${env.userId}/${movieId}/${name}`;
