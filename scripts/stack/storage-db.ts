/**
 * The stack's Storage API talks to `storage.*` as supabase_storage_admin, the tables' owner, and
 * runs each caller's statements under the caller's API role with its JWT claims — as Supabase
 * Storage does — so RLS on storage.buckets/objects decides what anon and user tokens may do.
 */
import type postgres from "postgres";

export type StorageSql = postgres.Sql;
export type StorageTx = postgres.TransactionSql;

/** Who is calling: the API role their key or token carries, and its claims (auth.uid() reads `sub`). */
export interface Caller {
  role: "service_role" | "authenticated" | "anon";
  claims: Record<string, unknown>;
}

/** Runs `work` in a transaction as the caller's role; RLS refusals become Storage's 403 answer. */
export async function asCaller<T>(
  sql: StorageSql,
  caller: Caller,
  work: (tx: StorageTx) => Promise<T>,
): Promise<T> {
  return await sql.begin(async (tx) => {
    await tx`select set_config('role', ${caller.role}, true), set_config('request.jwt.claims', ${
      JSON.stringify(caller.claims)
    }, true)`;
    return await work(tx);
  }) as T;
}

/** The Postgres error code of a failed statement, if it is one. */
export function pgCode(error: unknown): string | undefined {
  return (error as { code?: string })?.code;
}

/** RLS refused the row (42501), as Postgres says it, which Storage passes on. */
export const RLS_VIOLATION = "42501";
export const UNIQUE_VIOLATION = "23505";
