/** Empty databases in the stack's cluster for each tool to clone into, all named with one prefix. */
import type { Sql } from "postgres";

const PREFIX = "bench_clone_target_";

export interface TargetDatabase {
  name: string;
  url: string;
}

export function databaseUrl(clusterUrl: string, database: string): string {
  const url = new URL(clusterUrl);
  url.pathname = `/${database}`;
  return url.href;
}

export async function createTargetDatabase(
  sql: Sql,
  clusterUrl: string,
  label: string,
): Promise<TargetDatabase> {
  const name = `${PREFIX}${label}`;
  await sql.unsafe(`drop database if exists "${name}" with (force)`);
  await sql.unsafe(`create database "${name}"`);
  return { name, url: databaseUrl(clusterUrl, name) };
}

/** Drops every benchmark target, including those an interrupted run left behind. */
export async function dropTargetDatabases(sql: Sql): Promise<string[]> {
  const rows = await sql`select datname from pg_database where starts_with(datname, ${PREFIX})`;
  for (const { datname } of rows) await sql.unsafe(`drop database if exists "${datname}" with (force)`);
  return rows.map((row) => row.datname as string);
}
