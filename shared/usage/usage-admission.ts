/**
 * Per-user usage limits (migrations/20261201000800_usage.sql): admission runs inside the
 * transaction that creates the work, so the per-user lock it takes serialises a user's parallel
 * starts and a refused start creates nothing.
 */
import type { Sql, TransactionSql } from "../db/client.ts";
import { SqlErrorCode } from "../db/sql-errors.ts";
import { QuotaExceededError } from "../errors.ts";

/** A film start or resume counts as 'film'; a provider-calling regeneration as 'regeneration'. */
export type UsageKind = "film" | "regeneration";

/**
 * Admits one more `kind` for the user or throws QuotaExceededError (429). Call it first in the
 * transaction that enqueues the work: its lock is held until that transaction ends.
 */
export async function admitUsage(
  tx: TransactionSql,
  userId: string,
  kind: UsageKind,
  reason: string,
): Promise<void> {
  try {
    await tx`select engine.admit_usage(${userId}, ${kind}, ${reason})`;
  } catch (error) {
    throw quotaErrorFrom(error);
  }
}

/** The SQL refusal (RF009, its detail a JSON of the limit) as a QuotaExceededError; anything else unchanged. */
export function quotaErrorFrom(error: unknown): unknown {
  const e = error as { code?: string; message?: string; detail?: string };
  if (e?.code !== SqlErrorCode.QuotaExceeded) return error;
  const detail = JSON.parse(e.detail ?? "{}");
  return new QuotaExceededError(e.message ?? "A usage limit was reached", {
    limit: String(detail.limit),
    used: Number(detail.used),
    max: Number(detail.max),
    resetsAt: detail.resetsAt ? new Date(detail.resetsAt).toISOString() : null,
  });
}

/** The user's effective limits and use in the rolling 24 h window (engine.usage_report). */
export async function usageReport(sql: Sql, userId: string): Promise<Record<string, unknown>> {
  const [{ report }] = await sql`select engine.usage_report(${userId}) as report`;
  return report as Record<string, unknown>;
}
