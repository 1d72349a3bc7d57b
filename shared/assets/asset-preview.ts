/**
 * Making a preview version (asset.regenerate): the draft checked again against the owner's
 * provider (the registry may have changed since start), then a copy of an existing file made from
 * the same inputs (asset-preview-cache.ts) or a new one from the provider, stored at the run's own
 * path (asset-preview-file.ts).
 */
import type { TaskContext } from "../engine/task-context.ts";
import { audioCacheKey } from "../caches/asset-cache.ts";
import type { FilmEnv } from "../film/film-env.ts";
import { failureText, runJob, runSyncCall } from "../film/film-jobs.ts";
import type { MovieRow } from "../film/film-movie.ts";
import { ELEVENLABS_MODELS } from "../providers/elevenlabs/elevenlabs-models.ts";
import type { VoiceSettings } from "../providers/types.ts";
import {
  assertDraftFitsProvider,
  dialogueLine,
  type GeneratedKind,
  lineVoice,
  PROVIDER_TYPE_OF,
  unspokenVoice,
} from "./asset-draft.ts";
import { cachedPreview } from "./asset-preview-cache.ts";
import {
  type AssetRunRow,
  PreviewFailure,
  type PreviewFile,
  previewPath,
  storeVersioned,
} from "./asset-preview-file.ts";
import { sha256Hex } from "../crypto/content-hash.ts";
import { previewAsk, previewProvider } from "./asset-preview-jobs.ts";
import { chooseTake, providerTakesSeed, type Take } from "./asset-take.ts";

export async function makePreview(
  ctx: TaskContext,
  env: FilmEnv,
  movie: MovieRow,
  run: AssetRunRow,
): Promise<PreviewFile> {
  const kind = run.kind as GeneratedKind;
  const type = PROVIDER_TYPE_OF[kind];
  assertDraftFitsProvider(kind, movie.id, env.resolved[type], run.draft);
  // Recorded, so a resumed slice asks for the same take (asset-take.ts).
  const take = await ctx.step("preview:take", () => {
    const provider = env.providers[type]!;
    const pinned = run.draft.settings?.seed as number | undefined;
    return Promise.resolve(chooseTake(pinned, providerTakesSeed(type, provider.provider, provider.model)));
  });
  if (kind === "audio") return await voiceLine(ctx, env, run, take);
  const provider = previewProvider(env, kind);
  // What the provider is asked, read once and recorded: a resumed slice polls the job it submitted
  // with the request and params that job was made from, though its inputs may have changed since
  // (shot 1's last frame cleared by an accept while shot 2's take is in production). Read again,
  // the request failed and the paid job was dropped, its cost never recorded.
  const job = { ...await ctx.step("preview:request", () => previewAsk(env, movie, run, take)), provider };
  const made = { provider: job.provider.provider, model: job.provider.model, inputsHash: job.inputsHash };
  const cached = await cachedPreview(ctx, env, run, job.inputsHash, job);
  if (cached) {
    const { cachedFrom, meta: _, ...file } = cached;
    return { ...file, ...made, params: { ...job.params, cachedFrom } };
  }
  const outcome = await runJob(ctx, {
    sql: env.sql,
    name: `preview:${kind}`,
    provider: job.provider,
    request: job.request,
    metric: {
      movieId: movie.id,
      userId: movie.user_id,
      step: `regenerate:${kind}`,
      sceneNumber: run.target.sceneNumber,
    },
    cost: job.cost,
    pollEveryMs: env.pollMs,
  });
  if (!outcome.ok) {
    throw new PreviewFailure(`${kind} generation failed: ${failureText(outcome)}`);
  }
  const file = await storeVersioned(ctx, env, run, outcome.url, job.media, job.ext, job.contentType);
  return { ...file, ...made, params: job.params };
}

const VOICE_SETTINGS = ["stability", "similarityBoost", "style", "speed"] as const;

/**
 * One line re-voiced, stitched to its neighbours' requests (ElevenLabs: ≤ 3 ids each side), with
 * the draft's voice settings and seed. Its inputs hash is audio_cache's key (text, voice,
 * provider/model, settings): the pipeline's line, an accepted one or an earlier preview with the
 * same inputs is copied instead (then unstitched: the copy is that earlier take). The run's take
 * (asset-take.ts) is its seed, or a take number in the key, so only a pinned seed can be copied.
 */
async function voiceLine(ctx: TaskContext, env: FilmEnv, run: AssetRunRow, take: Take): Promise<PreviewFile> {
  const lineId = run.slot.split(":")[1];
  const line = await dialogueLine(env.sql, lineId);
  if (!line) throw new PreviewFailure(`dialogue line ${lineId} no longer exists`);
  const settings: Record<string, number> = {
    ...run.draft.settings as Record<string, number> | undefined,
    ...(take.seed === undefined ? {} : { seed: take.seed }),
  };
  const voice = env.providers.audio;
  const text = run.draft.text ?? line.text;
  // Chosen again here: the owner's provider may have changed since start checked the line's voice.
  const voiceId = run.draft.voice ?? lineVoice(line, voice.provider);
  if (voiceId === null) throw new PreviewFailure(unspokenVoice(line.voiceId, voice.provider).message);
  const inputsHash = await audioCacheKey({
    text,
    voiceId,
    provider: voice.provider,
    model: voice.model,
    // A take number keys the cache only (the request has no seed to carry it).
    settings: take.take === undefined ? settings : { ...settings, take: take.take },
  });
  const made = { provider: voice.provider, model: voice.model, inputsHash };
  const cached = await cachedPreview(ctx, env, run, inputsHash, { ext: "mp3", contentType: "audio/mpeg" });
  if (cached) {
    const { cachedFrom, meta, ...file } = cached;
    return {
      ...file,
      ...made,
      params: {
        text,
        voiceId,
        settings,
        requestId: meta.requestId ?? null,
        alignment: meta.alignment ?? null,
        durationSeconds: meta.durationSeconds ?? null,
        cachedFrom,
      },
    };
  }
  // eleven_v3 (a draft.model) refuses stitching: that take is voiced alone.
  const stitch = !(voice.provider === "elevenlabs" && ELEVENLABS_MODELS[voice.model]?.stitching === false);
  const previous = stitch
    ? await env.sql`
    select request_id from public.scene_audio where scene_id = ${line.sceneId} and line_index < ${line.lineIndex} and request_id is not null
     order by line_index desc limit 3`
    : [];
  const next = stitch
    ? await env.sql`
    select request_id from public.scene_audio where scene_id = ${line.sceneId} and line_index > ${line.lineIndex} and request_id is not null
     order by line_index limit 3`
    : [];
  const voiceSettings = Object.fromEntries(
    VOICE_SETTINGS.filter((key) => settings[key] !== undefined).map((key) => [key, settings[key]]),
  ) as VoiceSettings;
  const request = {
    voiceId,
    text,
    previousRequestIds: previous.map((r) => r.request_id as string).reverse(),
    nextRequestIds: next.map((r) => r.request_id as string),
    ...(Object.keys(voiceSettings).length ? { voiceSettings } : {}),
    ...(settings.seed === undefined ? {} : { seed: settings.seed as number }),
  };
  const spoken = await runSyncCall(ctx, {
    sql: env.sql,
    name: "preview:voice",
    provider: voice,
    metric: {
      movieId: run.movie_id,
      userId: run.user_id,
      step: "regenerate:audio",
      sceneNumber: run.target.sceneNumber,
    },
    cost: { units: text.length, unit: "characters" },
  }, async () => {
    const speech = await voice.speak(request);
    const path = previewPath(run, "mp3");
    await env.storage.upload(env.bucket, path, speech.audio, {
      contentType: speech.contentType,
      upsert: true,
    });
    return {
      bucket: env.bucket,
      path,
      url: env.storage.publicUrl(env.bucket, path),
      contentHash: await sha256Hex(speech.audio),
      ...made,
      params: {
        text,
        voiceId,
        settings,
        ...(take.take === undefined ? {} : { take: take.take }),
        previousRequestIds: request.previousRequestIds,
        nextRequestIds: request.nextRequestIds,
        requestId: speech.requestId,
        alignment: speech.alignment,
        durationSeconds: speech.durationSeconds,
      },
    };
  });
  if (!spoken.ok) {
    throw new PreviewFailure(`audio generation failed: ${failureText(spoken)}`);
  }
  return spoken.value;
}
