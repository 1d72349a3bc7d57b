/**
 * One scene's voices (step 5): a scene_audio row per dialogue line with the character's
 * voice, every line spoken at once (TTS is one synchronous call per line: its intent is recorded
 * first, then the bytes go to Storage and the row in one recorded step).
 */
import type { TaskContext } from "../engine/task-context.ts";
import { audioCacheKey, peekCachedAudio, storeCachedAudio, touchCachedAudio } from "../caches/asset-cache.ts";
import { type FilmEnv, filmPath } from "./film-env.ts";
import { allSteps, assertStillHolder } from "./film-jobs.ts";
import { metricProvider, recordFinished, recordIntent } from "./film-metrics.ts";
import { admitSyncIntent, BudgetExceededError } from "./film-budget.ts";
import { loadScene, type MovieRow, screenplayScene } from "./film-movie.ts";
import { updateStep } from "./film-progress.ts";
import { afterHalfDone } from "./scene-halves.ts";
import { isSceneFailure } from "./scene-failure.ts";

/**
 * A line's step holds a pooled connection across the TTS call (the result commits with the step),
 * and the offline voice polls its worker job on the same pool. The pool has 4 connections per
 * worker process: with every one of them held by a waiting line, no poll could run (deadlock). At
 * most 3 lines per process are in flight, whatever the number of scenes it voices.
 */
const speakingSlots = createSlots(3);

function createSlots(size: number) {
  let free = size;
  const waiting: (() => void)[] = [];
  return {
    async run<T>(work: () => Promise<T>): Promise<T> {
      if (free > 0) free--;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await work();
      } finally {
        const next = waiting.shift();
        if (next) next();
        else free++;
      }
    },
  };
}

export async function generateSceneVoices(
  ctx: TaskContext,
  env: FilmEnv,
  movie: MovieRow,
  sceneNumber: number,
) {
  const scene = await loadScene(env.sql, movie.id, sceneNumber);
  const written = screenplayScene(movie, sceneNumber);
  const lines = await ctx.step("voices:lines", async (tx) => {
    await tx`update public.movie_scenes set audio_status = 'generating', audio_error = null where id = ${scene.id}`;
    for (const [i, d] of written.dialogue.entries()) {
      const [character] =
        await tx`select id, voice_id from public.characters where user_id = ${movie.user_id} and name_key = ${d.character.trim().toLowerCase()}`;
      await tx`
        insert into public.scene_audio (movie_id, scene_id, user_id, scene_number, line_index, character_name, character_id, text, emotion, voice_id, start_seconds)
        values (${movie.id}, ${scene.id}, ${movie.user_id}, ${sceneNumber}, ${i}, ${d.character}, ${
        character?.id ?? null
      }, ${d.line}, ${d.emotion},
                ${character?.voice_id ?? `voice-${d.character.toLowerCase()}`}, ${d.timing})
        on conflict on constraint scene_audio_one_per_line do update
          set text = excluded.text, voice_id = excluded.voice_id, start_seconds = excluded.start_seconds, status = 'pending', audio_url = null`;
    }
    return await tx`select id, line_index, text, voice_id from public.scene_audio where scene_id = ${scene.id} order by line_index`;
  }) as { id: string; line_index: number; text: string; voice_id: string }[];

  const voice = env.providers.audio;
  const outcomes = await allSteps(lines.map((line) => async () => {
    const name = `line-${line.line_index}`;
    const key = {
      movieId: movie.id,
      userId: movie.user_id,
      step: "generate_audio",
      sceneNumber,
      taskId: ctx.task.id,
      stepName: name,
      ...metricProvider(voice),
    };
    // The intent commits on its own connection before the step's transaction takes one: inside it,
    // parallel lines held every pooled connection while waiting for one more (deadlock).
    await ctx.checkpoint({}); // fenced, as runJob does: a cancelled or taken-over task pays for no more lines
    const refused = await admitSyncIntent(env.sql, key).then(() => null, (error) => {
      if (error instanceof BudgetExceededError) return error;
      throw error;
    });
    if (refused) {
      // Not spoken, not paid: the line failed like a line the provider refused.
      return await ctx.step(name, async (tx) => {
        await tx`update public.scene_audio set status = 'failed', error_message = ${refused.message} where id = ${line.id}`;
        await recordIntent(tx, key);
        await recordFinished(tx, ctx.task.id, name, { ok: false, error: refused.message });
        return false;
      });
    }
    // audio_cache: the same text in the same voice and model is never paid for twice by one user.
    // Looked up before the step's transaction takes its connection (see peekCachedAudio).
    const inputs = { text: line.text, voiceId: line.voice_id, provider: voice.provider, model: voice.model };
    const hash = await audioCacheKey(inputs);
    const cached = await peekCachedAudio(env.sql, movie.user_id, hash);
    return await speakingSlots.run(() =>
      ctx.step(name, async (tx) => {
        // Waiting for this transaction's connection may have outlasted a cancel: fenced right before paying.
        await assertStillHolder(tx, ctx);
        try {
          if (cached) {
            await touchCachedAudio(tx, movie.user_id, hash);
            await tx`
            update public.scene_audio set status = 'completed', audio_url = ${cached.audio_url}, request_id = ${cached.request_id},
                   alignment = ${
              cached.alignment === null ? null : tx.json(cached.alignment)
            }, duration_seconds = ${cached.duration_seconds}, error_message = null
             where id = ${line.id}`;
            await recordFinished(tx, ctx.task.id, name, { ok: true, costUnits: 0, costUnit: "characters" });
            return true;
          }
          const speech = await voice.speak({ voiceId: line.voice_id, text: line.text });
          const path = filmPath(
            env,
            movie.id,
            `scene-${sceneNumber}-line-${line.line_index}-${ctx.task.id.slice(0, 8)}.mp3`,
          );
          await env.storage.upload(env.bucket, path, speech.audio, {
            contentType: speech.contentType,
            upsert: true,
          });
          const url = env.storage.publicUrl(env.bucket, path);
          await tx`
          update public.scene_audio set status = 'completed', audio_url = ${url}, request_id = ${speech.requestId},
                 alignment = ${
            speech.alignment ? tx.json(speech.alignment) : null
          }, duration_seconds = ${speech.durationSeconds}, error_message = null
           where id = ${line.id}`;
          await storeCachedAudio(tx, movie.user_id, hash, inputs, {
            audioUrl: url,
            bucket: env.bucket,
            path,
            contentType: speech.contentType,
            durationSeconds: speech.durationSeconds,
            alignment: speech.alignment,
            requestId: speech.requestId,
          });
          await recordFinished(tx, ctx.task.id, name, {
            ok: true,
            costUnits: line.text.length,
            costUnit: "characters",
          });
          return true;
        } catch (error) {
          if (!isSceneFailure(error)) throw error;
          await tx`update public.scene_audio set status = 'failed', error_message = ${
            (error as Error).message
          } where id = ${line.id}`;
          await recordFinished(tx, ctx.task.id, name, { ok: false, error: (error as Error).message });
          return false;
        }
      })
    );
  }));

  const status = lines.length === 0 ? "skipped" : outcomes.some(Boolean) ? "completed" : "failed";
  await ctx.step("voices:done", async (tx) => {
    await tx`update public.movie_scenes set audio_status = ${status},
             audio_error = ${
      status === "failed" ? "every dialogue line failed" : null
    } where id = ${scene.id}`;
    await afterHalfDone(tx, env.store, ctx, movie.id, sceneNumber);
    const [row] = await tx`
      select count(*)::int as total, count(*) filter (where audio_status in ('completed', 'failed', 'skipped'))::int as done
        from public.movie_scenes where movie_id = ${movie.id}`;
    await updateStep(tx, movie.id, "generate_audio", {
      status: row.done === row.total ? "completed" : "running",
      progress: (100 * row.done) / row.total,
      detail: `Audio ${row.done}/${row.total}`,
    });
  });
  return status;
}
