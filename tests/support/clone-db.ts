import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import postgres from "postgres";
import type { ClonePlan, DdlStatement } from "../../shared/clone/schema-plan.ts";
import { qualifiedName, quoteIdent } from "../../shared/clone/sql-text.ts";
import { stackEnv } from "./stack.ts";

const fixtures = join(import.meta.dirname!, "..", "fixtures");

/** The local stack's Postgres URL with another database name. */
export function databaseUrl(database: string): string {
  const url = new URL(stackEnv().DB_URL);
  url.pathname = `/${database}`;
  return url.href;
}

/** A fresh, empty database in the stack's cluster to clone into; `drop()` removes it. */
export async function createTargetDatabase(prefix = "clone_target") {
  const name = `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
  const admin = postgres(stackEnv().DB_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  return {
    name,
    url: databaseUrl(name),
    drop() {
      dropDatabaseInBackground(name);
      return Promise.resolve();
    },
  };
}

/**
 * Drops a test database without waiting for the drop to finish. DROP DATABASE waits until every
 * backend has absorbed its barrier, and on the stack one of them sometimes does so only at pg_cron's
 * next minute (drops measured 40–54 s, others 0.05 s, while `engine.run_sweeper` sleeps); nothing
 * after a test needs the database gone, and the stack is torn down after the run anyway.
 */
export function dropDatabaseInBackground(name: string, serverUrl = stackEnv().DB_URL): void {
  const drop = spawn("psql", [serverUrl, "-qc", `drop database if exists "${name}" with (force)`], {
    detached: true,
    stdio: "ignore",
  });
  drop.on("error", () => {});
  drop.unref();
}

/** Loads tests/fixtures/clone-dataset.sql into `schema` of the stack's own database (the clone's source). */
export function loadDataset(schema: string, scale: number) {
  execFileSync("psql", [
    stackEnv().DB_URL,
    "-q",
    "-v",
    "ON_ERROR_STOP=1",
    "-v",
    `schema=${schema}`,
    "-v",
    `scale=${scale}`,
    "-f",
    join(fixtures, "clone-dataset.sql"),
  ], {
    stdio: "pipe",
  });
}

type TableFingerprint = { rows: number; hash: string };

/**
 * Row count and order-independent hash of every table's own rows in a schema (ONLY: an inheritance
 * parent's apart from its children's), computed by Postgres; with `sequences`, each sequence's
 * last value too.
 */
export function schemaFingerprint(url: string, schema: string): Promise<Record<string, TableFingerprint>>;
export function schemaFingerprint(
  url: string,
  schema: string,
  options: { sequences: boolean },
): Promise<Record<string, TableFingerprint | string>>;
export async function schemaFingerprint(url: string, schema: string, { sequences = false } = {}) {
  const db = postgres(url, {
    max: 1,
    onnotice: () => {},
    connection: { TimeZone: "UTC", DateStyle: "ISO", extra_float_digits: "3" },
  });
  try {
    const tables = await db`
      select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = ${schema} and c.relkind = 'r' order by 1`;
    const result: Record<string, TableFingerprint> = {};
    for (const { relname } of tables) {
      const [row] = await db.unsafe<TableFingerprint[]>(`
        select count(*)::int as rows,
               coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)::text as hash
          from only "${schema}"."${relname}" t`);
      result[relname] = row;
    }
    if (!sequences) return result;
    const states: Record<string, string> = {};
    for (
      const { name, value } of await db`
      select sequencename as name, last_value::text as value from pg_sequences where schemaname = ${schema}
       order by 1`
    ) states[`${name} (sequence)`] = value;
    return { ...result, ...states };
  } finally {
    await db.end();
  }
}

/**
 * pg_dump's schema-only output of `schemas` without what differs between any two dumps: `--`
 * comment lines, blank lines, and the random \restrict key of recent minor releases.
 */
export function schemaDump(url: string, schemas: string[], extraArgs: string[] = []): string {
  const dump = execFileSync(
    process.env.PG_DUMP ?? "/usr/lib/postgresql/15/bin/pg_dump",
    ["--schema-only", ...extraArgs, ...schemas.flatMap((schema) => ["--schema", schema]), `--dbname=${url}`],
    { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  return dump.split("\n").filter((line) =>
    line.trim() !== "" && !line.startsWith("--") && !/^\\(un)?restrict /.test(line)
  ).join("\n");
}

/** Runs a plan's statements one by one on `target`, like the clone task, naming the one that fails. */
export async function applyStatements(target: postgres.Sql, statements: DdlStatement[]): Promise<void> {
  for (const statement of statements) {
    try {
      await target.unsafe(statement.sql);
    } catch (error) {
      throw new Error(`${statement.key} failed: ${(error as Error).message}\n${statement.sql}`);
    }
  }
}

/** Copies every copyable table of `plan` from `source` to `target` with plain COPY streams. */
export async function copyPlanRows(
  source: postgres.Sql,
  target: postgres.Sql,
  plan: ClonePlan,
): Promise<void> {
  for (const table of plan.tables.filter((t) => !t.partitioned)) {
    const columns = table.columns.map(quoteIdent).join(", ");
    const rows = await source.unsafe(`copy ${qualifiedName(table)} (${columns}) to stdout`).readable();
    await pipeline(
      rows,
      await target.unsafe(`copy ${qualifiedName(table)} (${columns}) from stdin`).writable(),
    );
  }
}
