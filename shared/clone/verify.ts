import type { Sql, TransactionSql } from "../db/client.ts";
import { CLONE_SESSION_SETTINGS } from "./session-settings.ts";
import { qualifiedName, quoteIdent } from "./sql-text.ts";
import type { TableInfo } from "./table-info.ts";

export interface TableFingerprint {
  rows: number;
  hash: string;
}

export interface SequenceState {
  lastValue: string;
  isCalled: boolean;
}

export interface CloneMismatch {
  table?: string;
  sequence?: string;
  source: unknown;
  target: unknown;
}

/**
 * How a row becomes a 64-bit hash. `record` hashes the values with their types' own hash
 * functions (hash_record_extended, the ones hash partitioning relies on to stay stable across
 * servers and versions): about 3x faster than `text`, which hashes the row's text
 * (hashtextextended(row::text)). Only some types hash the same on any server — an enum's hash,
 * for one, is its value's OID — so `record` is used only when every column is of one of them.
 */
export type RowHash = "record" | "text";

/**
 * Exact row count and an order-independent hash of a table's own rows (ONLY), computed in the
 * database: the sum over rows of a 64-bit row hash, exact and without overflow (sum(bigint) is
 * numeric; Postgres adds up in 128-bit integers where it can, much faster than a numeric cast per
 * row, and the result is the same number). Given `columns`, only those are hashed, in that order (so column order on the target and generated
 * columns do not matter). Row text depends on output settings, so the clone's are set locally
 * first; both servers then print the same values the same way.
 */
export async function tableFingerprint(
  sql: Sql,
  table: { schema: string; name: string; columns?: string[]; rowFilter?: string },
  rowHash: RowHash = "text",
): Promise<TableFingerprint> {
  const row = table.columns ? `row(${table.columns.map((c) => `t.${quoteIdent(c)}`).join(", ")})` : "t";
  const hash = rowHash === "record" ? `hash_record_extended(${row}, 0)` : `hashtextextended(${row}::text, 0)`;
  return await sql.begin("read only", async (tx) => {
    await useCloneSettings(tx);
    const [result] = await tx.unsafe(
      `select count(*)::text as rows, coalesce(sum(${hash}), 0)::text as hash
         from only ${qualifiedName(table)} as t${table.rowFilter ? ` where ${table.rowFilter}` : ""}`,
      [],
      { prepare: false },
    );
    return { rows: Number(result.rows), hash: result.hash as string };
  });
}

export async function sequenceState(sql: Sql, seq: { schema: string; name: string }): Promise<SequenceState> {
  const [row] = await sql.unsafe(
    `select last_value::text as "lastValue", is_called as "isCalled" from ${qualifiedName(seq)}`,
    [],
    { prepare: false },
  );
  return { lastValue: row.lastValue as string, isCalled: row.isCalled as boolean };
}

/**
 * Compares every table (partitioned parents have no rows of their own and are skipped) and every
 * sequence on both sides; returns the mismatches, empty when the clone is identical. A relation
 * missing on the target is a mismatch; any other error is thrown, since it says nothing about the data.
 */
export async function verifyClone(
  source: Sql,
  target: Sql,
  tables: TableInfo[],
  sequences: { schema: string; name: string }[],
): Promise<CloneMismatch[]> {
  const mismatches: CloneMismatch[] = [];
  for (const table of tables) {
    if (table.partitioned) continue;
    const [ours, theirs] = await fingerprintBothSides(source, target, table);
    if ("error" in theirs || ours.rows !== theirs.rows || ours.hash !== theirs.hash) {
      mismatches.push({ table: qualifiedName(table), source: ours, target: theirs });
    }
  }
  for (const seq of sequences) {
    const [ours, theirs] = await Promise.all([
      sequenceState(source, seq),
      missingAsError(sequenceState(target, seq)),
    ]);
    if ("error" in theirs || ours.lastValue !== theirs.lastValue || ours.isCalled !== theirs.isCalled) {
      mismatches.push({ sequence: qualifiedName(seq), source: ours, target: theirs });
    }
  }
  return mismatches;
}

/** Types whose hash functions depend on the value alone (not OIDs, not a collation's sort keys). */
const PORTABLE_HASH_TYPES = [
  "smallint",
  "integer",
  "bigint",
  "numeric",
  "real",
  "double precision",
  "boolean",
  "text",
  "character varying",
  "character",
  "uuid",
  "bytea",
  "jsonb",
  "date",
  "time without time zone",
  "timestamp without time zone",
  "timestamp with time zone",
  "interval",
];

/** `record` when every column (or array element, or domain base) is of a portable type. */
export async function rowHashFor(
  sql: Sql,
  table: { schema: string; name: string; columns?: string[] },
): Promise<RowHash> {
  const [{ portable }] = await sql`
    select coalesce(bool_and(format_type(case when b.typcategory = 'A' then b.typelem else b.oid end, null)
                             = any(${PORTABLE_HASH_TYPES}::text[])
                             and (c.collname is null or c.collisdeterministic)), true) as portable
      from pg_attribute a
      join pg_type t on t.oid = a.atttypid
      join pg_type b on b.oid = case when t.typtype = 'd' then t.typbasetype else t.oid end
      left join pg_collation c on c.oid = nullif(a.attcollation, 0)
     where a.attrelid = ${qualifiedName(table)}::regclass and a.attnum > 0 and not a.attisdropped
       and (${table.columns ?? null}::text[] is null or a.attname = any(${table.columns ?? null}::text[]))`;
  return portable ? "record" : "text";
}

/** Both sides hashed at once, the same way, chosen from the source's column types. */
async function fingerprintBothSides(source: Sql, target: Sql, table: TableInfo) {
  const rowHash = await rowHashFor(source, table);
  return await Promise.all([
    tableFingerprint(source, table, rowHash),
    missingAsError(tableFingerprint(target, table, rowHash)),
  ]);
}

async function useCloneSettings(tx: TransactionSql): Promise<void> {
  const names = Object.keys(CLONE_SESSION_SETTINGS);
  await tx`select set_config(name, value, true) from unnest(${names}::text[], ${
    names.map((n) => CLONE_SESSION_SETTINGS[n])
  }::text[]) as s(name, value)`;
}

async function missingAsError<T extends object>(reading: Promise<T>): Promise<T | { error: string }> {
  try {
    return await reading;
  } catch (error) {
    if ((error as { code?: string }).code === "42P01") return { error: (error as Error).message };
    throw error;
  }
}
