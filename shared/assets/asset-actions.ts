/**
 * regenerate-asset's actions, one flow for every kind:
 * - start { target, kind, draft } → 202 { runId, taskId }: a run and its asset.regenerate task
 *   (script: the draft itself is the preview; nothing is generated until accept). draft.model and
 *   draft.settings are checked against the owner's provider for the kind (asset-draft.ts).
 * - accept { runId, cascade? } → the preview becomes current in one transaction (asset_admin.accept_run),
 *   the film/scene/line/library columns are written from it in the same transaction, the scene is
 *   remixed and/or the film reassembled (asset.apply: clip, line, music), superseded files are
 *   deleted after the retention (asset.cleanup); a stale preview (a newer accept won) is 409.
 *   A clip marks the scenes continuing from its last frame stale; cascade (default true)
 *   regenerates them from the new frame (asset-continuity.ts, asset-cascade.ts).
 *   What each kind writes and starts is its acceptor's (accept/acceptors.ts, one module a kind).
 *   script: the film is reset and its pipeline restarted (asset_admin.reset_film), atomically.
 *   image: a character portrait or a location image. Both are library entries of the owner, and a
 *   location image is shared by all their films: accepting one replaces it for every future scene
 *   that uses that place, time and weather; clips already made keep the frames they were made from.
 * - reject { runId } → the preview dropped, the draft kept on the run for a retry. Its file stays
 *   until the retention passes (then asset.cleanup removes it), so a retry with the same inputs
 *   and a pinned seed is a free copy of it (without one, a retry is a new take: asset-take.ts).
 * - status { runId } → the run, its draft, the preview's and the current version's signed URLs
 *   (they expire at `urlsExpireAt`; media is private).
 */
import { z } from "zod";
import { SqlErrorCode } from "../db/sql-errors.ts";
import { pgErrorCode, retryDeadlock } from "../engine/task-store.ts";
import { BadRequestError, ConflictError, NotFoundError } from "../errors.ts";
import type { FunctionDeps } from "../function-deps.ts";
import { type ActionSpec, defineAction } from "../http/function-app.ts";
import { describeTask, taskActions } from "../http/task-actions.ts";
import { idleMovie, lockMovieOutOfProduction } from "../film/film-movie.ts";
import { resolveProviders } from "../providers/registry/resolve-providers.ts";
import {
  assertDraftFitsProvider,
  dialogueLine,
  draftProblem,
  lineVoice,
  PROVIDER_TYPE_OF,
  unspokenVoice,
} from "./asset-draft.ts";
import type { AssetRow, AssetRunRow } from "./asset-preview-file.ts";
import {
  assertPreviousShotFrame,
  draftSchema,
  REGENERATE_KINDS,
  type RegenerateKind,
  resolveSlot,
  targetProblem,
  targetSchema,
} from "./asset-target.ts";
import { REGENERATE_KIND } from "./asset-kinds.ts";
import { TASK_ROUTES } from "../engine/task-routes.ts";
import { acceptInTransaction } from "./accept/accept-run.ts";
import { staleScenes, staleShots } from "./asset-continuity.ts";
import { CLEANUP_KIND } from "./asset-kinds.ts";
import { insertRun, startRun } from "./asset-run-start.ts";
import { assetUrlSigner } from "../film/asset-url.ts";
import { urlsExpireAt } from "../storage/signed-urls.ts";
import { admitUsage } from "../usage/usage-admission.ts";
import { uuidField } from "../http/read-body.ts";

const startInput = z.object({
  target: targetSchema,
  kind: z.enum(REGENERATE_KINDS, { error: `kind must be one of: ${REGENERATE_KINDS.join(", ")}` }),
  draft: draftSchema.default({}),
}).strict();
/** status takes a run, or (like every function) one of its tasks. */
const byRunOrTask = z.object({
  runId: uuidField("runId", "a run's UUID").optional(),
  taskId: uuidField("taskId", "a task's UUID").optional(),
}).strict().refine((b) => (b.runId === undefined) !== (b.taskId === undefined), {
  message: "send runId (or a taskId), exactly one",
  path: ["runId"],
});
const byRun = z.object({
  runId: uuidField("runId", "a run's UUID"),
}).strict();
/** cascade (clips, default true): regenerate the scenes continuing from the new last frame. */
const acceptInput = byRun.extend({
  cascade: z.boolean({ error: "cascade must be true or false" }).optional(),
}).strict();

async function ownRun(deps: FunctionDeps, runId: string, userId: string): Promise<AssetRunRow> {
  // Someone else's run answers as an unknown one.
  const [run] = await deps.sql<AssetRunRow[]>`
    select * from public.asset_runs where id = ${runId} and user_id = ${userId}`;
  if (!run) throw new NotFoundError("Asset run", runId);
  return run;
}

/** When the URLs about to be signed stop serving: taken before signing, so never later than their tokens' expiry. */
const expiresAt = (deps: FunctionDeps) => urlsExpireAt(deps.config.REELFORGE_SIGNED_URL_TTL_SECONDS);

/** The SQL guards' refusals as HTTP answers. */
function fromSqlError(error: unknown, runId: string): unknown {
  const code = pgErrorCode(error);
  const message = (error as Error).message;
  if (code === SqlErrorCode.AssetRunNotFound) return new NotFoundError("Asset run", runId);
  // The run's film went away under it: for the caller, the run is gone with it.
  if (code === SqlErrorCode.FilmNotFound) return new NotFoundError("Asset run", runId);
  if (code === SqlErrorCode.AssetRunNotPreview) return new ConflictError("asset_run_not_preview", message);
  if (code === SqlErrorCode.AssetRunStale) return new ConflictError("asset_run_stale", message);
  // Not current, and never will be: as for a newer accept, the caller starts a new run.
  if (code === SqlErrorCode.AssetPreviewDropped) return new ConflictError("asset_run_stale", message);
  return error;
}

export function regenerateAssetActions(deps: FunctionDeps): Record<string, ActionSpec> {
  const { sql, store } = deps;

  const start = defineAction({
    spends: true,
    input: startInput,
    async run(input, caller) {
      const kind = input.kind as RegenerateKind;
      const problem = targetProblem(kind, input.target, input.draft);
      if (problem) throw new BadRequestError("invalid_target", problem);
      const draft = draftProblem(kind, input.draft);
      if (draft) throw new BadRequestError("invalid_draft", draft);
      await idleMovie(deps, input.target.movieId, caller.userId);
      const { slot, lineId } = await resolveSlot(sql, kind, input.target);
      await assertPreviousShotFrame(sql, slot, input.target);
      if (kind !== "script") {
        const resolved = await resolveProviders(sql, caller.userId, deps.config);
        assertDraftFitsProvider(kind, input.target.movieId, resolved[PROVIDER_TYPE_OF[kind]], input.draft);
        // Refused here, before anything is counted, rather than by the adapter once the run started.
        if (kind === "audio" && input.draft.voice === undefined && lineId) {
          const line = await dialogueLine(sql, lineId);
          if (line && lineVoice(line, resolved.audio.provider) === null) {
            throw unspokenVoice(line.voiceId, resolved.audio.provider);
          }
        }
      }
      const ids = await sql.begin(async (tx) => {
        // The user's usage lock before the film's rows, as every other start takes them (a scene's,
        // scene-actions.ts; a resume, engine.resume_by_owner). Taken after the movie's row, two
        // starts on one film at once deadlocked, and one of them answered 500.
        if (kind !== "script") await admitUsage(tx, caller.userId, "regeneration", `regenerate:${kind}`);
        await lockMovieOutOfProduction(tx, input.target.movieId);
        const run = { userId: caller.userId, slot, kind, target: input.target, draft: input.draft };
        if (kind === "script") {
          // A script draft calls no provider (its accept re-produces the film and counts as a film).
          const runId = await insertRun(tx, run);
          const [asset] = await tx`
            insert into public.assets (user_id, movie_id, slot, kind, version, state, params)
            values (${caller.userId}, ${input.target.movieId}, ${slot}, 'script', coalesce((select max(version) from public.assets where slot = ${slot}), 0) + 1,
                    'preview', ${tx.json({ prompt: input.draft.prompt ?? null })})
            returning id`;
          await tx`update public.asset_runs set status = 'preview', preview_asset_id = ${asset.id} where id = ${runId}`;
          return { runId, taskId: null };
        }
        return await startRun(tx, store, run);
      });
      return { status: 202, body: { ...ids, slot, kind } };
    },
  });

  // Accepting applies the version: re-mixes, re-renders or a film run may follow.
  const accept = defineAction({
    spends: true,
    input: acceptInput,
    async run({ runId, cascade = true }, caller) {
      const run = await ownRun(deps, runId, caller.userId);
      let outcome;
      try {
        // One transaction, nothing outside the database: run again when Postgres broke a deadlock
        // by aborting it (a script accept's reset against a film's steps or a scene's accept).
        outcome = await retryDeadlock(() =>
          sql.begin((tx) => acceptInTransaction(tx, store, caller.userId, run, cascade))
        );
      } catch (error) {
        throw fromSqlError(error, runId);
      }
      const { asset, applyTaskId, produceTaskId, staleScenes, staleShots } = outcome;
      const urlsExpireAt = expiresAt(deps);
      const url = await assetUrlSigner(deps.config, sql, caller.userId, [asset]);
      return {
        body: {
          accepted: true,
          runId,
          slot: run.slot,
          version: asset.version,
          url: url(asset),
          urlsExpireAt,
          ...(applyTaskId ? { applyTaskId } : {}),
          ...(produceTaskId ? { produceTaskId } : {}),
          // A clip: the scenes continuing from its old last frame (regenerated when cascade).
          ...(staleScenes
            ? { staleScenes, cascade: cascade && (staleScenes.length > 0 || (staleShots?.length ?? 0) > 0) }
            : {}),
          // A shot: the later shots of its scene, made from its old last frame.
          ...(staleShots ? { staleShots } : {}),
        },
      };
    },
  });

  const reject = defineAction({
    input: byRun,
    async run({ runId }, caller) {
      await ownRun(deps, runId, caller.userId);
      const dropped = await sql.begin(async (tx) => {
        const [run] = await tx`select * from public.asset_runs where id = ${runId} for update`;
        if (run.status !== "preview" && run.status !== "running") {
          throw new ConflictError(
            "asset_run_decided",
            `Asset run ${runId} is ${run.status}; only a running run or a preview can be rejected`,
          );
        }
        await tx`update public.asset_runs set status = 'rejected', decided_at = now() where id = ${runId}`;
        // Kept for the retention like any superseded file: the same draft again copies it for free.
        const [asset] = run.preview_asset_id
          ? await tx`
          update public.assets set state = 'superseded', superseded_at = now(),
                 delete_after = now() + make_interval(secs => (select retention_seconds from asset_admin.settings))
           where id = ${run.preview_asset_id} and state = 'preview' returning delete_after`
          : [];
        if (asset) {
          await store.enqueue({
            userId: caller.userId,
            kind: CLEANUP_KIND,
            idempotencyKey: `cleanup:${runId}`,
            payload: { userId: caller.userId },
            runAfter: new Date(asset.delete_after),
            maxAttempts: 5,
          }, tx);
        }
        return { taskId: run.status === "running" ? run.task_id as string | null : null, draft: run.draft };
      });
      if (dropped.taskId) await store.cancel(dropped.taskId, "asset run rejected");
      return { body: { rejected: true, runId, draft: dropped.draft } };
    },
  });

  const taskStatus = taskActions(store, TASK_ROUTES[REGENERATE_KIND]).status;
  const status = defineAction({
    input: byRunOrTask,
    async run({ runId, taskId }, caller) {
      if (taskId) return await taskStatus.run({ taskId }, caller);
      const run = await ownRun(deps, runId!, caller.userId);
      const [preview] = run.preview_asset_id
        ? await sql<AssetRow[]>`select * from public.assets where id = ${run.preview_asset_id}`
        : [];
      const [current] = await sql<AssetRow[]>`
        select * from public.assets where slot = ${run.slot} and state = 'current'`;
      const task = run.task_id ? await store.get(run.task_id) : null;
      const apply = run.apply_task_id ? await store.get(run.apply_task_id) : null;
      // A clip's run says whether its scene is stale (made from an old last frame) and which are.
      const stale = run.kind === "video" ? await staleScenes(sql, run.movie_id) : null;
      const shots = run.kind === "video" ? await staleShots(sql, run.movie_id) : null;
      const urlsExpireAt = expiresAt(deps);
      const url = await assetUrlSigner(deps.config, sql, caller.userId, [preview, current]);
      return {
        body: {
          run: {
            id: run.id,
            slot: run.slot,
            kind: run.kind,
            target: run.target,
            draft: run.draft,
            status: run.status,
            error: run.error,
            baseVersion: run.base_version,
            cascadeOf: run.cascade_of ?? null,
          },
          ...(stale
            ? { stale: stale.includes(run.target.sceneNumber!), staleScenes: stale, staleShots: shots }
            : {}),
          preview: preview
            ? {
              version: preview.version,
              state: preview.state,
              params: preview.params,
              contentHash: preview.content_hash,
              // A rejected run's preview, or a failed one's (a script reset dropped it), is never accepted.
              url: run.status === "rejected" || run.status === "failed" ? null : url(preview),
            }
            : null,
          current: current ? { version: current.version, url: url(current) } : null,
          urlsExpireAt,
          task: task ? describeTask(task) : null,
          applyTask: apply ? describeTask(apply) : null,
        },
      };
    },
  });

  return { start, accept, reject, status };
}
