/**
 * Accepting a run, inside one transaction: the kind's admission, the preview made current
 * (asset_admin.accept_run: refused when stale or not a preview), the kind's acceptor, and the
 * cleanup of superseded files after the retention. The accept action runs it for the caller; a
 * cascade run (asset-cascade.ts) runs it by itself once its preview is made.
 */
import type { TransactionSql } from "../../db/client.ts";
import type { TaskStore } from "../../engine/task-store.ts";
import { CLEANUP_KIND } from "../asset-kinds.ts";
import type { AssetRow, AssetRunRow } from "../asset-preview-file.ts";
import type { AcceptResult } from "./asset-acceptor.ts";
import { acceptorFor } from "./acceptors.ts";
import { lockIdleMovie } from "../../film/film-movie.ts";

export interface AcceptedRun extends AcceptResult {
  asset: AssetRow;
}

export async function acceptInTransaction(
  tx: TransactionSql,
  store: TaskStore,
  userId: string,
  run: AssetRunRow,
  cascade: boolean,
): Promise<AcceptedRun> {
  const acceptor = acceptorFor(run.kind);
  await acceptor.admit?.(tx, userId);
  if (acceptor.needsIdleMovie) await lockIdleMovie(tx, run.movie_id);
  const [asset] = await tx<AssetRow[]>`select * from asset_admin.accept_run(${run.id}, ${userId})`;
  const result = await acceptor.accept({ tx, store, userId, runId: run.id, run, asset, cascade });
  const [due] =
    await tx`select now() + make_interval(secs => retention_seconds) as at from asset_admin.settings`;
  await store.enqueue({
    userId,
    kind: CLEANUP_KIND,
    idempotencyKey: `cleanup:${run.id}`,
    payload: { userId },
    runAfter: new Date(due.at),
    maxAttempts: 5,
  }, tx);
  return { asset, ...result };
}
