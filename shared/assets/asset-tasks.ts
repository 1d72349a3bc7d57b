/**
 * Tasks run by regenerate-asset:
 * - asset.regenerate {runId}: the run's preview version (asset-preview.ts); a refusal or failed job
 *   fails the run with its message, anything else is retried by the engine.
 *   A cascade run (asset-cascade.ts) is accepted by itself once its preview is made.
 * - asset.apply {movieId, sceneNumber?, shotNumber?, newClip?, cascade?}: after an accepted clip,
 *   shot or line — a new clip's end frame first (a shot's, then its scene's shots joined into the
 *   scene's clip again), then the cascade runs of what continues from it — that scene's
 *   mix again (its lines onto its clip: the audio is kept), then the film reassembled (children in
 *   turn); after accepted music (no scene) only the reassembly. An assembly of the film that has
 *   not read its scenes yet is joined instead of started (film/assembly-turns.ts): the result
 *   then names it (`assembledBy`).
 * - asset.cleanup {userId}: the owner's superseded files past their delete_after are removed —
 *   unless a live version or a cache entry still names the same object — and marked deleted_at.
 */
import type { TaskHandler } from "../engine/slice-runner.ts";
import type { FunctionDeps } from "../function-deps.ts";
import { filmEnv } from "../film/film-env.ts";
import { loadMovie, loadScene, nothingToAssemble } from "../film/film-movie.ts";
import { SliceWait, type TaskContext } from "../engine/task-context.ts";
import { ASSEMBLE_KIND, MIX_KIND } from "../film/film-kinds.ts";
import { isSceneFailure } from "../film/scene-failure.ts";
import { createStorage } from "../storage/index.ts";
import { type GeneratedKind, PROVIDER_TYPE_OF } from "./asset-draft.ts";
import { makePreview } from "./asset-preview.ts";
import { type AssetRunRow, PreviewFailure, savePreview } from "./asset-preview-file.ts";
import { SqlErrorCode } from "../db/sql-errors.ts";
import { ConflictError, PermanentTaskError } from "../errors.ts";
import { pgErrorCode } from "../engine/task-store.ts";
import { acceptInTransaction } from "./accept/accept-run.ts";
import { startCascade } from "./asset-cascade.ts";
import type { CascadeTarget } from "./accept/asset-acceptor.ts";
import { extractLastFrame, joinShots } from "../film/shot-renders.ts";
import { assemblyStatus, unreadAssembly } from "../film/assembly-turns.ts";
import { isTerminal } from "../engine/task-row.ts";
export { APPLY_KIND, CLEANUP_KIND, REGENERATE_KIND } from "./asset-kinds.ts";

export function regenerateHandler(deps: FunctionDeps): TaskHandler {
  return async (ctx) => {
    const [run] = await deps.sql<AssetRunRow[]>`select * from public.asset_runs where id = ${
      String(ctx.payload.runId)
    }`;
    if (!run || run.status !== "running") {
      return { type: "done", result: { skipped: run ? run.status : "run missing" } };
    }
    const movie = await loadMovie(deps.sql, run.movie_id);
    const type = PROVIDER_TYPE_OF[run.kind as GeneratedKind];
    const env = await filmEnv(deps, movie.user_id, {
      models: run.draft.model === undefined ? {} : { [type]: run.draft.model },
    });
    try {
      const file = await makePreview(ctx, env, movie, run);
      const assetId = await ctx.step("preview:saved", (tx) => savePreview(tx, run, file));
      const accepted = run.cascade_of ? await acceptCascadeRun(ctx, deps, movie.user_id, run) : undefined;
      return {
        type: "done",
        result: { runId: run.id, previewAssetId: assetId, ...(accepted ? { accepted } : {}) },
      };
    } catch (error) {
      if (!(error instanceof PreviewFailure) && !isSceneFailure(error)) throw error;
      const message = (error as Error).message;
      await ctx.step(
        "preview:failed",
        (tx) =>
          tx`update public.asset_runs set status = 'failed', error = ${message} where id = ${run.id} and status = 'running'`
            .then(() => null),
      );
      return { type: "done", result: { runId: run.id, failed: message } };
    }
  };
}

/**
 * A cascade run's preview accepted as the owner would, with cascade (the chain follows). When the
 * owner accepted another clip for the scene meanwhile, the preview stays a preview: "stale"; when
 * the film went back into production meanwhile (a resume after the apply that started the
 * cascade), it stays one too, for the owner to accept once the film is done: "in_production".
 */
async function acceptCascadeRun(ctx: TaskContext, deps: FunctionDeps, userId: string, run: AssetRunRow) {
  try {
    return await ctx.step("preview:accepted", async (tx) => {
      const accepted = await acceptInTransaction(tx, deps.store, userId, run, true);
      return accepted.applyTaskId ?? "accepted";
    });
  } catch (error) {
    const code = pgErrorCode(error);
    if (
      code === SqlErrorCode.AssetRunStale || code === SqlErrorCode.AssetRunNotPreview ||
      code === SqlErrorCode.AssetPreviewDropped
    ) return "stale";
    // The owner's own regeneration of the film running now: left for them to accept once it ends.
    if (error instanceof ConflictError && error.code === "regeneration_in_progress") {
      return "regeneration_in_progress";
    }
    if (error instanceof ConflictError && error.code === "movie_in_production") return "in_production";
    throw error;
  }
}

export function applyHandler(deps: FunctionDeps): TaskHandler {
  return async (ctx) => {
    const { movieId, sceneNumber, shotNumber, newClip, runId, cascade = [] } = ctx.payload as {
      movieId: string;
      sceneNumber?: number | null;
      shotNumber?: number | null;
      newClip?: boolean;
      runId?: string;
      cascade?: CascadeTarget[];
    };
    if (typeof sceneNumber === "number" && !ctx.metadata.mixed) {
      const framed = !newClip
        ? false
        : typeof shotNumber === "number"
        ? await applyShot(ctx, deps, movieId, sceneNumber, shotNumber)
        : await extractEndFrame(ctx, deps, movieId, sceneNumber);
      // No new end frame, no cascade: the continuing scenes stay stale.
      if (framed && cascade.length && runId) {
        const movie = await loadMovie(deps.sql, movieId);
        await startCascade(ctx, deps, movie, cascade, runId);
      }
      return {
        type: "await_children",
        metadata: { mixed: true },
        children: [{ key: "mix", kind: MIX_KIND, payload: { movieId, sceneNumber }, maxAttempts: 5 }],
      };
    }
    const applied = { movieId, sceneNumber: sceneNumber ?? null, remixed: typeof sceneNumber === "number" };
    if (!ctx.metadata.assembled) {
      // A film cancelled before any scene had its video: nothing to put together (its resume does).
      const nothing = await nothingToAssemble(deps.sql, movieId);
      if (nothing) {
        return { type: "done", result: { ...applied, reassembled: false, notReassembled: nothing } };
      }
      // The take is in the scenes now: an assembly of the film that has not read them yet shows
      // it, so this apply waits for that one instead of paying for its own (assembly-turns.ts).
      // If that one does not succeed (cancelled with its own apply, say), this apply assembles.
      const shared = typeof ctx.metadata.sharedAssembly === "string"
        ? ctx.metadata.sharedAssembly
        : await unreadAssembly(deps.sql, ctx.task.userId, movieId);
      if (shared) {
        const status = await assemblyStatus(deps.sql, shared);
        if (status === "succeeded") {
          return { type: "done", result: { ...applied, reassembled: true, assembledBy: shared } };
        }
        if (status && !isTerminal(status)) throw new SliceWait([shared], { sharedAssembly: shared });
      }
      return {
        type: "await_children",
        metadata: { assembled: true },
        children: [{ key: "assemble", kind: ASSEMBLE_KIND, payload: { movieId }, maxAttempts: 5 }],
      };
    }
    // The apply says what became of the film: a reassembly that failed fails it, with its reason.
    const assembly = (await ctx.children()).findLast((child) => child.kind === ASSEMBLE_KIND);
    if (assembly?.status !== "succeeded") {
      const why = (assembly?.lastError as { message?: string } | null)?.message ?? assembly?.status ??
        "not run";
      throw new PermanentTaskError(
        "reassembly_failed",
        `The take is in the film, which was not reassembled: ${why}`,
      );
    }
    return { type: "done", result: { ...applied, reassembled: true } };
  };
}

/**
 * A new clip's real last frame (what a continuation starts from), as the pipeline extracts it;
 * false when there is none (the clip was replaced again meanwhile, or the render failed).
 */
async function extractEndFrame(
  ctx: TaskContext,
  deps: FunctionDeps,
  movieId: string,
  sceneNumber: number,
): Promise<boolean> {
  const movie = await loadMovie(deps.sql, movieId);
  const env = await filmEnv(deps, movie.user_id);
  const scene = await loadScene(deps.sql, movieId, sceneNumber);
  if (!scene.clip_url) return false;
  const frame = await extractLastFrame(ctx, env, movieId, {
    name: "end-frame",
    clipUrl: scene.clip_url,
    file: `scene-${sceneNumber}`,
    metric: { movieId, userId: movie.user_id, step: "regenerate:video", sceneNumber },
  });
  if (!frame.ok) return false;
  return await ctx.step("end-frame:saved", async (tx) => {
    const rows = await tx`
      update public.movie_scenes set end_frame_url = ${frame.url} where id = ${scene.id} and clip_url = ${scene.clip_url} returning id`;
    // A scene of one shot: the shot's last frame is the scene's.
    await tx`update public.scene_shots set end_frame_url = ${frame.url} where scene_id = ${scene.id} and clip_url = ${scene.clip_url}`;
    return rows.length > 0;
  });
}

/**
 * An accepted shot: its real last frame (what the next shot starts from), then the scene's shots
 * joined again into the scene's clip, which the scene takes with the last shot's frame as its own.
 * False when the shot has no new frame (replaced again meanwhile, or the render failed).
 *
 * Two accepts of one scene's shots apply side by side, each joining the shots as it listed them
 * after its accept committed; a join can finish after a newer one (a render worker killed under
 * it). The shots are listed once (a recorded step: a retried slice joins and checks the same list
 * its render job was given), and the join becomes the scene's clip only while they are still the
 * scene's shots; otherwise the apply that listed the newer ones writes its own. A join that fails
 * fails the apply, saying so: the take is current, but the film does not show it.
 */
async function applyShot(
  ctx: TaskContext,
  deps: FunctionDeps,
  movieId: string,
  sceneNumber: number,
  shotNumber: number,
): Promise<boolean> {
  const movie = await loadMovie(deps.sql, movieId);
  const env = await filmEnv(deps, movie.user_id);
  const scene = await loadScene(deps.sql, movieId, sceneNumber);
  const [shot] = await deps.sql`
    select id, clip_url from public.scene_shots where scene_id = ${scene.id} and shot_number = ${shotNumber}`;
  if (!shot?.clip_url) return false;
  const metric = { movieId, userId: movie.user_id, step: "regenerate:video", sceneNumber };
  const frame = await extractLastFrame(ctx, env, movieId, {
    name: "end-frame",
    clipUrl: shot.clip_url,
    file: `scene-${sceneNumber}-shot-${shotNumber}`,
    metric,
  });
  const framed = frame.ok &&
    await ctx.step(
      "end-frame:saved",
      (tx) =>
        tx`update public.scene_shots set end_frame_url = ${frame.url} where id = ${shot.id} and clip_url = ${shot.clip_url} returning id`
          .then((rows) => rows.length > 0),
    );
  const shots = await ctx.step("shots:listed", async (tx) =>
    (await tx`
      select clip_url, end_frame_url, duration_seconds from public.scene_shots where scene_id = ${scene.id}
       order by shot_number`).map((s) => ({
      url: s.clip_url as string | null,
      endFrameUrl: s.end_frame_url as string | null,
      seconds: Number(s.duration_seconds),
    })));
  if (shots.some((s) => !s.url)) return framed;
  const clips = shots.map((s) => ({ url: s.url!, seconds: s.seconds }));
  let joined: string;
  try {
    joined = await joinShots(ctx, env, movie, `scene-${sceneNumber}`, clips, metric);
  } catch (error) {
    if (!isSceneFailure(error)) throw error;
    throw new PermanentTaskError(
      "shots_not_joined",
      `The take is current, but the film does not show it: scene ${sceneNumber}'s shots were not joined into its clip (regenerate the shot to try again): ${
        (error as Error).message
      }`,
    );
  }
  await ctx.step("shots:joined", (tx) =>
    tx`
    update public.movie_scenes
       set clip_url = ${joined}, video_url = ${joined}, status = 'completed', error_message = null, mix_status = 'pending',
           end_frame_url = ${shots[shots.length - 1].endFrameUrl}, duration_seconds = ${
      clips.reduce((sum, c) => sum + c.seconds, 0)
    }
     where id = ${scene.id}
       and (select array_agg(h.clip_url order by h.shot_number) from public.scene_shots h where h.scene_id = ${scene.id})
           = ${clips.map((c) => c.url)}::text[]`.then(() => null));
  return framed;
}

export function cleanupHandler(deps: FunctionDeps): TaskHandler {
  return async (ctx) => {
    const storage = createStorage(deps.config, deps.sql);
    const removed = await deleteDueAssets(deps, storage, String(ctx.payload.userId));
    return { type: "done", result: { removed } };
  };
}

/** Removes due superseded files no live version shares; returns how many objects went. */
export async function deleteDueAssets(
  deps: Pick<FunctionDeps, "sql">,
  storage: { remove(bucket: string, paths: string[]): Promise<void> },
  userId: string,
) {
  const due = await deps.sql`
    select a.id, a.storage_bucket, a.storage_path,
           -- A live version elsewhere or a cache entry (audio_cache, generated_videos) may name the same object.
           public.storage_object_referenced(a.storage_bucket, a.storage_path) as shared
      from public.assets a
     where a.user_id = ${userId} and a.state = 'superseded' and a.deleted_at is null and a.delete_after <= now()`;
  let removed = 0;
  for (const row of due) {
    if (row.storage_path && !row.shared) {
      await storage.remove(row.storage_bucket, [row.storage_path]);
      removed++;
    }
    await deps.sql`update public.assets set deleted_at = now() where id = ${row.id}`;
  }
  return removed;
}
