/**
 * Making a preview version (asset.regenerate): the new file from the owner's providers, copied to
 * a path of its own (`assets/<user>/<movie>/<slot>/<run>.<ext>`, so old and new versions coexist
 * until cleanup), hashed, and recorded as a `preview` row of the slot under the slot's lock.
 */
import type { TransactionSql } from "../db/client.ts";
import type { TaskContext } from "../engine/task-context.ts";
import { copyToStorage } from "../providers/copy-to-storage.ts";
import type { FilmEnv } from "../film/film-env.ts";
import { runJob } from "../film/film-jobs.ts";
import type { MovieRow } from "../film/film-movie.ts";
import { videoShape } from "../film/video-prompt.ts";
import type { AssetDraft, AssetTarget } from "./asset-target.ts";

export interface AssetRunRow {
  id: string;
  user_id: string;
  movie_id: string;
  slot: string;
  kind: string;
  target: AssetTarget;
  draft: AssetDraft;
  status: string;
  base_version: number | null;
  preview_asset_id: string | null;
  preview_token: string;
  task_id: string | null;
}

export interface PreviewFile {
  bucket: string;
  path: string;
  url: string;
  contentHash: string;
  provider: string;
  model: string;
  params: Record<string, unknown>;
}

/** A refusal or failed job: the run fails with this message (retrying would not help). */
export class PreviewFailure extends Error {}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as BufferSource);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export const previewPath = (run: AssetRunRow, ext: string) =>
  `assets/${run.user_id}/${run.movie_id}/${run.slot.replaceAll(":", "-")}/${run.id}.${ext}`;

/** The job's output at the run's own path, whether the provider left it in our bucket or elsewhere. */
async function storeVersioned(ctx: TaskContext, env: FilmEnv, run: AssetRunRow, url: string, media: "video" | "image", ext: string, contentType: string) {
  return await ctx.step("preview:copy", async () => {
    const path = previewPath(run, ext);
    const ours = env.storage.publicUrl(env.bucket, "x").slice(0, -1);
    let bytes: Uint8Array | null;
    if (url.startsWith(ours)) {
      bytes = await env.storage.download(env.bucket, decodeURIComponent(url.slice(ours.length).split("?")[0]));
      if (!bytes) throw new PreviewFailure(`the provider's output ${url} is missing from Storage`);
      await env.storage.upload(env.bucket, path, bytes, { contentType, upsert: true });
    } else {
      await copyToStorage({ provider: "copy", url, kind: media, storage: env.storage, bucket: env.bucket, path, allowInsecureUrls: env.allowInsecureUrls });
      bytes = await env.storage.download(env.bucket, path);
    }
    return { bucket: env.bucket, path, url: env.storage.publicUrl(env.bucket, path), contentHash: await sha256Hex(bytes!) };
  });
}

export async function makePreview(ctx: TaskContext, env: FilmEnv, movie: MovieRow, run: AssetRunRow): Promise<PreviewFile> {
  const metric = { movieId: movie.id, userId: movie.user_id, step: `regenerate:${run.kind}`, sceneNumber: run.target.sceneNumber };
  if (run.kind === "video") {
    const [scene] = await env.sql`
      select scene_number, duration_seconds, video_prompt, reference_image_url from public.movie_scenes
       where movie_id = ${movie.id} and scene_number = ${run.target.sceneNumber!}`;
    if (!scene) throw new PreviewFailure(`movie ${movie.id} has no scene ${run.target.sceneNumber}`);
    const prompt = run.draft.prompt ?? scene.video_prompt;
    if (!prompt) throw new PreviewFailure(`scene ${scene.scene_number} has no video prompt yet: send draft.prompt`);
    const video = env.providers.video;
    const shape = videoShape(video.provider, video.model, movie.orientation, Number(scene.duration_seconds));
    const job = await runJob(ctx, {
      sql: env.sql, name: "preview:video", provider: video,
      request: { promptText: prompt, ...(scene.reference_image_url ? { promptImage: scene.reference_image_url } : {}), ratio: shape.ratio, durationSeconds: shape.durationSeconds },
      metric, cost: { units: shape.durationSeconds, unit: "seconds" }, pollEveryMs: env.pollMs,
    });
    if (!job.ok) throw new PreviewFailure(`video generation failed: ${job.failureCode}: ${job.message}`);
    const file = await storeVersioned(ctx, env, run, job.url, "video", "mp4", "video/mp4");
    return { ...file, provider: video.provider, model: video.model, params: { prompt, referenceImageUrl: scene.reference_image_url ?? null, ratio: shape.ratio, durationSeconds: shape.durationSeconds } };
  }
  if (run.kind === "cover") {
    const image = env.providers.image;
    const portrait = movie.orientation === "portrait";
    const prompt = run.draft.prompt ?? `Movie poster for ${movie.title}: ${movie.prompt}, cinematic, professional`.slice(0, 1000);
    const size = portrait ? { width: 512, height: 768 } : { width: 768, height: 512 };
    const job = await runJob(ctx, {
      sql: env.sql, name: "preview:cover", provider: image, request: { prompt, ...size, purpose: "poster" as const },
      metric, cost: { units: 1, unit: "images" }, pollEveryMs: env.pollMs,
    });
    if (!job.ok) throw new PreviewFailure(`cover generation failed: ${job.failureCode}: ${job.message}`);
    const file = await storeVersioned(ctx, env, run, job.url, "image", "png", "image/png");
    return { ...file, provider: image.provider, model: image.model, params: { prompt, ...size } };
  }
  if (run.kind === "audio") return await voiceLine(ctx, env, run);
  throw new PreviewFailure(`kind ${run.kind} has no preview to generate`);
}

/** One line re-voiced, stitched to its neighbours' requests (ElevenLabs: ≤ 3 ids each side). */
async function voiceLine(ctx: TaskContext, env: FilmEnv, run: AssetRunRow): Promise<PreviewFile> {
  const lineId = run.slot.split(":")[1];
  const [line] = await env.sql`select scene_id, line_index, text, voice_id from public.scene_audio where id = ${lineId}`;
  if (!line) throw new PreviewFailure(`dialogue line ${lineId} no longer exists`);
  const previous = await env.sql`
    select request_id from public.scene_audio where scene_id = ${line.scene_id} and line_index < ${line.line_index} and request_id is not null
     order by line_index desc limit 3`;
  const next = await env.sql`
    select request_id from public.scene_audio where scene_id = ${line.scene_id} and line_index > ${line.line_index} and request_id is not null
     order by line_index limit 3`;
  const request = {
    voiceId: run.draft.voice ?? line.voice_id as string,
    text: run.draft.text ?? line.text as string,
    previousRequestIds: previous.map((r) => r.request_id as string).reverse(),
    nextRequestIds: next.map((r) => r.request_id as string),
  };
  const voice = env.providers.audio;
  return await ctx.step("preview:voice", async () => {
    const speech = await voice.speak(request);
    const path = previewPath(run, "mp3");
    await env.storage.upload(env.bucket, path, speech.audio, { contentType: speech.contentType, upsert: true });
    return {
      bucket: env.bucket, path, url: env.storage.publicUrl(env.bucket, path), contentHash: await sha256Hex(speech.audio),
      provider: voice.provider, model: voice.model,
      params: {
        text: request.text, voiceId: request.voiceId, previousRequestIds: request.previousRequestIds, nextRequestIds: request.nextRequestIds,
        requestId: speech.requestId, alignment: speech.alignment, durationSeconds: speech.durationSeconds,
      },
    };
  });
}

/** The next version of the slot, under its lock, as a preview of the run (unless the run was decided meanwhile). */
export async function savePreview(tx: TransactionSql, run: AssetRunRow, file: PreviewFile): Promise<string | null> {
  await tx`select pg_advisory_xact_lock(hashtextextended(${"asset-slot:" + run.slot}, 0))`;
  const [live] = await tx`select status from public.asset_runs where id = ${run.id} for update`;
  if (live?.status !== "running") return null;
  const [asset] = await tx`
    insert into public.assets (user_id, movie_id, slot, kind, version, state, storage_bucket, storage_path, public_url, content_hash, provider, model, params)
    values (${run.user_id}, ${run.movie_id}, ${run.slot}, ${run.kind}, coalesce((select max(version) from public.assets where slot = ${run.slot}), 0) + 1,
            'preview', ${file.bucket}, ${file.path}, ${file.url}, ${file.contentHash}, ${file.provider}, ${file.model}, ${tx.json(file.params as never)})
    returning id`;
  await tx`update public.asset_runs set status = 'preview', preview_asset_id = ${asset.id}, error = null where id = ${run.id}`;
  return asset.id;
}

