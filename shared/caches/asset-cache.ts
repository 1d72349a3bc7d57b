/**
 * Content-hash caches: audio_cache (TTS lines), generated_videos (clips) and
 * content_cache (LLM answers), per user and shared across that user's films. A hit answers from
 * the row and makes no provider call; a hit bumps use_count and last_used_at.
 */
import { hashJson } from "../crypto/content-hash.ts";
import type { Json, Sql, TransactionSql } from "../db/client.ts";

type Db = Sql | TransactionSql;

/**
 * sha256 hex of the inputs' canonical JSON, with the cache's name so two caches never share a key
 * (cover, image and music: regenerate previews' assets.inputs_hash).
 */
export const contentHash = (
  cache: "audio" | "video" | "llm" | "cover" | "image" | "music",
  inputs: Record<string, unknown>,
): Promise<string> => hashJson({ cache, ...inputs });

export interface AudioInputs {
  text: string;
  voiceId: string;
  provider: string;
  model: string;
  settings?: Record<string, Json>;
}

export const audioCacheKey = (i: AudioInputs) =>
  contentHash("audio", {
    text: i.text,
    voiceId: i.voiceId,
    provider: i.provider,
    model: i.model,
    settings: i.settings ?? {},
  });

export interface CachedAudio {
  audio_url: string;
  request_id: string | null;
  alignment: Json;
  duration_seconds: string | null;
}

/**
 * A read without locks, meant for outside the step's transaction: a TTS step's transaction holds a
 * pooled connection while the provider call may need another (local voices poll a job), so the
 * step does nothing new before that call. A hit is counted by touchCachedAudio inside the step.
 */
export async function peekCachedAudio(db: Db, userId: string, hash: string): Promise<CachedAudio | null> {
  const [row] = await db`
    select audio_url, request_id, alignment, duration_seconds from public.audio_cache where user_id = ${userId} and content_hash = ${hash}`;
  return (row as CachedAudio | undefined) ?? null;
}

export async function touchCachedAudio(db: Db, userId: string, hash: string): Promise<void> {
  await db`update public.audio_cache set use_count = use_count + 1, last_used_at = now() where user_id = ${userId} and content_hash = ${hash}`;
}

export async function storeCachedAudio(db: Db, userId: string, hash: string, inputs: AudioInputs, entry: {
  audioUrl: string;
  bucket: string;
  path: string;
  contentType: string;
  durationSeconds: number | null;
  alignment: Json;
  requestId: string | null;
}): Promise<void> {
  await db`
    insert into public.audio_cache (user_id, content_hash, text, voice_id, provider, model, settings, audio_url, storage_bucket, storage_path,
                                    content_type, duration_seconds, alignment, request_id)
    values (${userId}, ${hash}, ${inputs.text}, ${inputs.voiceId}, ${inputs.provider}, ${inputs.model}, ${
    db.json(inputs.settings ?? {})
  },
            ${entry.audioUrl}, ${entry.bucket}, ${entry.path}, ${entry.contentType}, ${entry.durationSeconds},
            ${entry.alignment === null ? null : db.json(entry.alignment)}, ${entry.requestId})
    on conflict on constraint audio_cache_one_per_hash do update set last_used_at = now()`;
}

export interface VideoInputs {
  prompt: string;
  referenceImageUrl: string | null;
  provider: string;
  model: string;
  ratio: string;
  durationSeconds: number;
  /**
   * A regenerate draft's seed, else the provider's registered one; absent from the key when unset,
   * so the pipeline's keys stay as they were.
   */
  seed?: number;
  /**
   * A regenerate run's take number where the model takes no seed (asset-take.ts): a new take is
   * a new key; absent for the pipeline.
   */
  take?: number;
}

export const videoCacheKey = (i: VideoInputs) =>
  contentHash("video", {
    prompt: i.prompt,
    referenceImageUrl: i.referenceImageUrl,
    provider: i.provider,
    model: i.model,
    ratio: i.ratio,
    durationSeconds: i.durationSeconds,
    seed: i.seed,
    take: i.take,
  });

export async function findCachedVideo(db: Db, userId: string, hash: string): Promise<string | null> {
  const [row] = await db`
    update public.generated_videos set use_count = use_count + 1, last_used_at = now()
     where user_id = ${userId} and content_hash = ${hash} and status = 'completed'
    returning video_url`;
  return (row?.video_url as string | undefined) ?? null;
}

export async function storeCachedVideo(
  db: Db,
  userId: string,
  hash: string,
  inputs: VideoInputs,
  entry: { videoUrl: string; bucket: string | null; path: string | null },
) {
  // dialogue_text stays null: a clip is made without speech (the column's comment).
  await db`
    insert into public.generated_videos (user_id, content_hash, prompt, reference_image_url, provider, model, ratio, duration_seconds,
                                         video_url, storage_bucket, storage_path)
    values (${userId}, ${hash}, ${inputs.prompt}, ${inputs.referenceImageUrl}, ${inputs.provider}, ${inputs.model}, ${inputs.ratio},
            ${inputs.durationSeconds}, ${entry.videoUrl}, ${entry.bucket}, ${entry.path})
    on conflict (user_id, content_hash) where status = 'completed' do nothing`;
}

/**
 * Regenerating a clip on purpose: the completed entry is kept but marked failed with
 * "Regenerated", so the next lookup misses and the new clip becomes the entry.
 */
export async function markVideoRegenerated(db: Db, userId: string, hash: string): Promise<number> {
  const rows = await db`
    update public.generated_videos set status = 'failed', error_message = 'Regenerated'
     where user_id = ${userId} and content_hash = ${hash} and status = 'completed' returning id`;
  return rows.length;
}

export interface LlmInputs {
  provider: string;
  model: string;
  name: string;
  system: string;
  user: string;
  maxTokens?: number;
  temperature?: number;
  /** A regenerated script's take number (asset-take.ts): absent unless the script was regenerated. */
  take?: number;
}

export const llmCacheKey = (i: LlmInputs) =>
  contentHash("llm", {
    provider: i.provider,
    model: i.model,
    name: i.name,
    system: i.system,
    user: i.user,
    maxTokens: i.maxTokens,
    temperature: i.temperature,
    take: i.take,
  });

export async function findCachedContent(db: Db, userId: string, key: string): Promise<unknown | null> {
  const [row] = await db`
    update public.content_cache set use_count = use_count + 1, last_used_at = now()
     where user_id = ${userId} and cache_key = ${key} returning content`;
  return row ? row.content : null;
}

export async function storeCachedContent(
  db: Db,
  userId: string,
  key: string,
  inputs: LlmInputs,
  content: Json,
  tokens: number,
) {
  await db`
    insert into public.content_cache (user_id, cache_key, provider, model, content, tokens)
    values (${userId}, ${key}, ${inputs.provider}, ${inputs.model}, ${db.json(content)}, ${tokens})
    on conflict on constraint content_cache_one_per_key do update set last_used_at = now()`;
}

/** A stored object that answers a lookup, and what a copy of it carries along (a line's request id, alignment, length). */
export interface CachedObject {
  source: "generated_videos" | "audio_cache" | "assets";
  id: string;
  bucket: string;
  path: string;
  meta: { requestId?: string | null; alignment?: Json; durationSeconds?: number | null };
}

/** Completed generated_videos entries for the key that name an object of ours. */
export async function cachedVideoObjects(db: Db, userId: string, hash: string): Promise<CachedObject[]> {
  const rows = await db`
    select id, storage_bucket, storage_path from public.generated_videos
     where user_id = ${userId} and content_hash = ${hash} and status = 'completed' and storage_path is not null`;
  return rows.map((r) => ({
    source: "generated_videos",
    id: r.id,
    bucket: r.storage_bucket,
    path: r.storage_path,
    meta: {},
  }));
}

export async function cachedAudioObjects(db: Db, userId: string, hash: string): Promise<CachedObject[]> {
  const rows = await db`
    select id, storage_bucket, storage_path, request_id, alignment, duration_seconds from public.audio_cache
     where user_id = ${userId} and content_hash = ${hash} and storage_path is not null`;
  return rows.map((r) => ({
    source: "audio_cache",
    id: r.id,
    bucket: r.storage_bucket,
    path: r.storage_path,
    meta: {
      requestId: r.request_id,
      alignment: r.alignment,
      durationSeconds: r.duration_seconds === null ? null : Number(r.duration_seconds),
    },
  }));
}

/** A cache table's hit is counted (use_count, last_used_at); an asset has no counter. */
export async function countCacheHit(db: Db, object: CachedObject): Promise<void> {
  if (object.source === "generated_videos") {
    await db`update public.generated_videos set use_count = use_count + 1, last_used_at = now() where id = ${object.id}`;
  } else if (object.source === "audio_cache") {
    await db`update public.audio_cache set use_count = use_count + 1, last_used_at = now() where id = ${object.id}`;
  }
}

/** The object path in `bucket` of one of our public URLs (cache-busting query dropped), or null for a URL elsewhere. */
export function storageKeyOf(
  publicUrl: (bucket: string, path: string) => string,
  bucket: string,
  url: string,
): string | null {
  const root = publicUrl(bucket, "x").slice(0, -1);
  return url.startsWith(root) ? decodeURIComponent(url.slice(root.length).split(/[?#]/)[0]) : null;
}
