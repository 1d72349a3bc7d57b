/**
 * Re-seals every stored secret under the box's current key: what `npm run secrets:rotate` runs
 * (scripts/secrets-rotate.ts). Each value is re-sealed in its own short transaction with its row
 * locked, so a rotation can run on a live project; values already current are left alone, so a
 * re-run is cheap and an interrupted run simply resumes. Every value is opened, so the report also
 * names rows whose value was altered or copied from another row.
 */
import type { Json, Sql } from "../db/client.ts";
import { cloneTargetBinding, cloneTargetStorageBinding, providerKeyBinding } from "./secret-bindings.ts";
import {
  parseStoredSecret,
  type SecretBinding,
  type SecretBox,
  SecretUnreadableError,
} from "./secret-box.ts";

/** Counts of sealed values per kind; `unreadable` lists row ids (never values) no configured key opens. */
export interface ResealTally {
  resealed: number;
  current: number;
  unreadable: string[];
}

export interface ResealReport {
  providerKeys: ResealTally;
  cloneTargets: ResealTally;
  /** Passes made: a clone worker still on the old config may write an old value back; later passes catch it. */
  passes: number;
}

const MAX_PASSES = 5;

/**
 * Re-seals until a pass finds nothing left to do (at most MAX_PASSES). `resealed` sums all passes;
 * `current` and `unreadable` are the last pass's. `dryRun` only counts.
 */
export async function resealStoredSecrets(
  sql: Sql,
  box: SecretBox,
  options: { dryRun?: boolean } = {},
): Promise<ResealReport> {
  const report: ResealReport = { providerKeys: emptyTally(), cloneTargets: emptyTally(), passes: 0 };
  for (;;) {
    report.passes++;
    const providerKeys = await resealProviderKeys(sql, box, options);
    const cloneTargets = await resealCloneTargets(sql, box, options);
    report.providerKeys = { ...providerKeys, resealed: report.providerKeys.resealed + providerKeys.resealed };
    report.cloneTargets = { ...cloneTargets, resealed: report.cloneTargets.resealed + cloneTargets.resealed };
    if (
      options.dryRun || report.passes >= MAX_PASSES || providerKeys.resealed + cloneTargets.resealed === 0
    ) return report;
  }
}

const emptyTally = (): ResealTally => ({ resealed: 0, current: 0, unreadable: [] });

async function resealProviderKeys(
  sql: Sql,
  box: SecretBox,
  options: { dryRun?: boolean },
): Promise<ResealTally> {
  const tally = emptyTally();
  const rows = await sql`select id from public.api_providers where api_key_encrypted is not null order by id`;
  for (const { id } of rows) {
    await sql.begin(async (tx) => {
      const [row] = await tx`select api_key_encrypted from public.api_providers where id = ${id} for update`;
      if (!row?.api_key_encrypted) return;
      const next = await resealed(box, row.api_key_encrypted, providerKeyBinding(id), tally, id);
      if (next && !options.dryRun) {
        await tx`update public.api_providers set api_key_encrypted = ${
          JSON.stringify(next)
        } where id = ${id}`;
      }
    });
  }
  return tally;
}

async function resealCloneTargets(
  sql: Sql,
  box: SecretBox,
  options: { dryRun?: boolean },
): Promise<ResealTally> {
  const tally = emptyTally();
  const rows =
    await sql`select id from public.background_tasks where metadata -> 'clone' ? 'target' order by id`;
  for (const { id } of rows) {
    await sql.begin(async (tx) => {
      const [row] =
        await tx`select metadata -> 'clone' as clone from public.background_tasks where id = ${id} for update`;
      const clone = row?.clone as { target?: unknown; targetStorage?: unknown } | undefined;
      if (!clone?.target) return;
      const patch: Record<string, Json> = {};
      const target = await resealed(box, clone.target, cloneTargetBinding(id), tally, id);
      if (target) patch.target = target;
      if (clone.targetStorage) {
        const storage = await resealed(box, clone.targetStorage, cloneTargetStorageBinding(id), tally, id);
        if (storage) patch.targetStorage = storage;
      }
      if (options.dryRun || Object.keys(patch).length === 0) return;
      // Only the sealed fields change: the checkpoint beside them belongs to the running job.
      await tx`
        update public.background_tasks
           set metadata = jsonb_set(metadata, '{clone}', (metadata -> 'clone') || ${tx.json(patch)})
         where id = ${id}`;
    });
  }
  return tally;
}

/** The value sealed under the current key, or null when it already is or cannot be opened (tallied either way). */
async function resealed(
  box: SecretBox,
  stored: unknown,
  binding: SecretBinding,
  tally: ResealTally,
  id: string,
) {
  try {
    const sealed = parseStoredSecret(stored);
    // Opened even when current: a value altered or copied from another row is reported, not counted.
    const plain = await box.open(sealed, binding);
    if (await box.isCurrent(sealed)) {
      tally.current++;
      return null;
    }
    const next = await box.seal(plain, binding);
    tally.resealed++;
    return next;
  } catch (error) {
    if (!(error instanceof SecretUnreadableError) && !(error instanceof SyntaxError)) throw error;
    if (!tally.unreadable.includes(id)) tally.unreadable.push(id);
    return null;
  }
}
