import postgres from "postgres";

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;
/** A value `sql.json()` accepts: what a jsonb parameter may hold. Object shapes meant for jsonb are
 * declared with `type`, not `interface`, so that they fit its index signature. */
export type Json = postgres.JSONValue;
/** A jsonb object; an undefined member is left out, as JSON.stringify does. */
export type JsonObject = { [key: string]: Json | undefined };
/** What a query's template may interpolate: a value, a helper such as `sql.json()`, or a fragment. */
export type SqlParameter = postgres.ParameterOrFragment<never>;

/**
 * A small postgres.js pool over SUPABASE_DB_URL. Behind Supabase's transaction pooler (port 6543)
 * prepared statements must be off.
 */
export function createDb(
  url: string,
  options: { max?: number; applicationName?: string; idleTimeoutSeconds?: number } = {},
): Sql {
  const pooled = isPoolerUrl(url);
  return postgres(url, {
    max: options.max ?? 4,
    prepare: !pooled,
    idle_timeout: options.idleTimeoutSeconds ?? 20,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? "reelforge" },
  });
}

/** Supabase's transaction pooler: no prepared statements, no session state between queries. */
export function isPoolerUrl(url: string): boolean {
  return /:6543(\/|$)/.test(url);
}
