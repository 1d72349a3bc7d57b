import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { stackEnv } from "./stack.ts";

const root = join(import.meta.dirname!, "..", "..");
const rowsFile = join(root, "tests", "fixtures", "clone-sample-rows.sql");

/** The generated sample schema's SQL, or why there is none (the generator is not installed). */
export type SampleSql = { sql: string; missing?: undefined } | { sql?: undefined; missing: string };

/**
 * Makes the public sample schema (pagila, via scripts/sample-db.sh; cached, so usually a no-op) and
 * reads it. Only a missing generator is an answer; any other failure of the script throws.
 */
export function ensureSampleSql(): SampleSql {
  const run = spawnSync("bash", [join(root, "scripts", "sample-db.sh")], { encoding: "utf8" });
  if (run.status === 3) return { missing: run.stderr.trim() };
  if (run.status !== 0) throw new Error(`scripts/sample-db.sh failed (${run.status}): ${run.stderr}`);
  return { sql: readFileSync(join(root, ".cache", "sample-db", "pagila.sql"), "utf8") };
}

/**
 * pgModeler's export made loadable into `schema` of an existing database, as pg_restore would load
 * a dump: everything but the foreign keys, then the rows, then the foreign keys. Two things are
 * changed and only these: the database it would create is not (we load into the stack's), and
 * the full-text trigger gets its four arguments back — the export joins them into one string,
 * which names no column, so the trigger would refuse every insert.
 */
export function sampleScript(sql: string, schema: string): string {
  const statements = sql.split(/^-- ddl-end --$/m)
    .filter((chunk) => !/^CREATE DATABASE /m.test(chunk))
    .map((chunk) =>
      chunk.replaceAll(/\bpublic\./g, `${schema}.`).replace(
        "tsvector_update_trigger('fulltext,pg_catalog.english,title,description')",
        "tsvector_update_trigger('fulltext', 'pg_catalog.english', 'title', 'description')",
      )
    );
  const isForeignKey = (chunk: string) => /ADD CONSTRAINT \S+ FOREIGN KEY/.test(chunk);
  return [
    `create schema ${schema};`,
    // Unqualified names in the model (view and function bodies, defaults, rules) mean the sample's.
    `set search_path = ${schema};`,
    ...statements.filter((chunk) => !isForeignKey(chunk)),
    readFileSync(rowsFile, "utf8"),
    ...statements.filter(isForeignKey),
  ].join("\n");
}

/** Loads the sample into `schema` of the stack's own database (the clone's source), as `postgres`. */
export function loadSample(sql: string, schema: string) {
  execFileSync("psql", [stackEnv().DB_URL, "-q", "-X", "-v", "ON_ERROR_STOP=1", "-f", "-"], {
    input: sampleScript(sql, schema),
    stdio: ["pipe", "pipe", "pipe"],
    maxBuffer: 16 * 1024 * 1024,
  });
}
