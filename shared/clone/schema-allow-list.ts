/**
 * Which schemas a clone may copy: `public` and schemas the project's users created. Never the
 * platform's (auth holds password hashes and refresh tokens, storage every tenant's object
 * metadata, vault secrets), never an extension's, never Reelforge's own internals.
 */
import type { Sql, TransactionSql } from "../db/client.ts";
import { BadRequestError } from "../errors.ts";

/** Supabase-managed and system schemas; refused by name whether or not they exist here. */
export const MANAGED_SCHEMAS: readonly string[] = [
  "auth",
  "storage",
  "realtime",
  "_realtime",
  "_analytics",
  "extensions",
  "vault",
  "cron",
  "net",
  "pgmq",
  "pgsodium",
  "pgsodium_masks",
  "graphql",
  "graphql_public",
  "supabase_functions",
  "supabase_migrations",
  "pgbouncer",
  "information_schema",
  "pg_catalog",
  "pg_toast",
];

/**
 * Reelforge's internal schemas (every `create schema` in migrations/): engine state and SECURITY
 * DEFINER functions, asset maintenance. `_reelforge_clone` is the clone's ledger on a target.
 */
export const INTERNAL_SCHEMAS: readonly string[] = ["engine", "asset_admin", "_reelforge_clone"];

// Per-session temporary schemas and their toast schemas; any supabase_* the platform adds later.
const SYSTEM_PATTERN = /^(pg_temp|pg_toast_temp)(_\d+)?$|^pg_|^supabase_/i;

/**
 * Throws `400 schema_not_allowed` naming every refused schema: managed, internal or system by
 * name, or created by an extension (pg_depend 'e' on the schema — e.g. cron, pgsodium, graphql
 * wherever an extension put them, whatever they are called).
 */
export async function assertClonableSchemas(sql: Sql | TransactionSql, schemas: string[]): Promise<void> {
  const wanted = [...new Set(schemas)];
  const byName = wanted.filter((schema) =>
    MANAGED_SCHEMAS.includes(schema.toLowerCase()) || INTERNAL_SCHEMAS.includes(schema.toLowerCase()) ||
    SYSTEM_PATTERN.test(schema)
  );
  const owned = await sql`
    select n.nspname, e.extname
      from pg_namespace n
      join pg_depend d on d.classid = 'pg_namespace'::regclass and d.objid = n.oid
                      and d.refclassid = 'pg_extension'::regclass and d.deptype = 'e'
      join pg_extension e on e.oid = d.refobjid
     where n.nspname = any(${wanted}::text[])`;
  const refused = [
    ...byName.map((schema) =>
      `${schema} (${
        INTERNAL_SCHEMAS.includes(schema.toLowerCase()) ? "Reelforge internal" : "managed by the platform"
      })`
    ),
    ...owned.filter((row) => !byName.includes(row.nspname)).map((row) =>
      `${row.nspname} (owned by extension ${row.extname})`
    ),
  ];
  if (refused.length > 0) {
    throw new BadRequestError(
      "schema_not_allowed",
      `these schemas cannot be cloned: ${refused.join(", ")}; clone public and schemas your project created`,
      {
        schemas: [...byName, ...owned.map((row) => row.nspname as string).filter((s) => !byName.includes(s))],
      },
    );
  }
}
