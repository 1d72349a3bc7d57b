/**
 * The clone benchmark's source: tests/fixtures/clone-dataset.sql loaded into one schema of the
 * stack's database at a scale that makes its tables about TARGET_BYTES. The scale is kept in a
 * comment on the schema, so a rerun at the same scale skips the load.
 */
import type { Sql } from "postgres";
import { runPipeline } from "./run-tool.ts";

const FIXTURE = new URL("../../tests/fixtures/clone-dataset.sql", import.meta.url).pathname;
const SIZING_SCALE = 20_000;
const MARKER = "reelforge clone benchmark dataset, scale=";

export interface Dataset {
  schema: string;
  scale: number;
  /** Sum of pg_total_relation_size over the schema's tables: heap, TOAST and indexes. */
  bytes: number;
  rows: number;
  tables: number;
  /** False when the schema was already there at this scale. */
  loaded: boolean;
  loadSeconds: number | null;
}

export async function schemaBytes(sql: Sql, schema: string): Promise<number> {
  const [{ bytes }] = await sql`
    select coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint::text as bytes
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = ${schema} and c.relkind = 'r'`;
  return Number(bytes);
}

async function loadFixture(dbUrl: string, schema: string, scale: number): Promise<void> {
  await runPipeline(`psql -X -q -v ON_ERROR_STOP=1 -v schema="$2" -v scale="$3" -d "$1" -f "$4"`, [
    dbUrl,
    schema,
    String(scale),
    FIXTURE,
  ]);
}

/**
 * The scale whose tables total about `targetBytes`: one small load measured and scaled up. Every
 * table grows linearly with the scale (20k and 100k rows measure within 0.3% per unit).
 */
export async function scaleFor(sql: Sql, dbUrl: string, targetBytes: number): Promise<number> {
  const scratch = "bench_clone_sizing";
  try {
    await loadFixture(dbUrl, scratch, SIZING_SCALE);
    const bytes = await schemaBytes(sql, scratch);
    // Rounded, so the same machine computes the same scale again and a rerun can skip the load.
    return Math.max(10_000, Math.round((SIZING_SCALE * targetBytes) / bytes / 10_000) * 10_000);
  } finally {
    await sql.unsafe(`drop schema if exists ${scratch} cascade`);
  }
}

async function loadedScale(sql: Sql, schema: string): Promise<number | null> {
  const [row] = await sql`
    select obj_description(oid, 'pg_namespace') as comment from pg_namespace where nspname = ${schema}`;
  const comment = row?.comment as string | null | undefined;
  return comment?.startsWith(MARKER) ? Number(comment.slice(MARKER.length)) : null;
}

export async function ensureDataset(
  sql: Sql,
  dbUrl: string,
  schema: string,
  scale: number,
): Promise<Dataset> {
  let loaded = false;
  let loadSeconds: number | null = null;
  if (await loadedScale(sql, schema) !== scale) {
    const started = performance.now();
    await loadFixture(dbUrl, schema, scale);
    await sql.unsafe(`comment on schema ${schema} is '${MARKER}${scale}'`);
    loadSeconds = (performance.now() - started) / 1000;
    loaded = true;
  }
  const [{ rows, tables }] = await sql`
    select coalesce(sum(c.reltuples), 0)::bigint::text as rows, count(*)::int as tables
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = ${schema} and c.relkind = 'r'`;
  return {
    schema,
    scale,
    bytes: await schemaBytes(sql, schema),
    rows: Number(rows),
    tables,
    loaded,
    loadSeconds,
  };
}
