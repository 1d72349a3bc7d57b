import type { CopyFormat } from "./copy-format.ts";
import { type CopySource, type CopyTarget, relayCopy } from "./copy-stream.ts";
import { qualifiedName, quoteIdent, quoteLiteral } from "./sql-text.ts";
import type { TableInfo } from "./table-info.ts";

export { CLONE_SESSION_SETTINGS } from "./session-settings.ts";

/*
 * Consistency: every chunk is read by its own statement, so the clone is consistent chunk by chunk,
 * not one snapshot of the database. A row inserted on the source with a key at or below the upper
 * bound of a chunk already copied (or a row changed in such a range) is not picked up; verification
 * then reports the table.
 *
 * Format: COPY binary when the caller says so, text otherwise (copy-format.ts decides). Binary
 * skips each value's text output on the source and input on the target, much of the servers' CPU
 * in the data copy; the relay passes bytes through either way (header and trailer included).
 * Binary is used only when source and target share a major version (the COPY docs call it less
 * portable across versions) and every column's type is built-in with send/receive, an array of
 * one, an enum or a domain the clone creates: composite types and arrays of user types embed type
 * OIDs, OID aliases (regclass, ...) send the source's OIDs, extension types may differ by
 * extension version; those tables go as text, through each type's output/input like pg_dump.
 * Measured PG 15 → 15, bench_clone at 259 MiB (12 tables, 2 cores): the servers' CPU for a
 * table-by-table COPY pipe 2.2 s text vs 1.7 s binary; the clone's data phase 2.57 s → 1.86 s,
 * whole clone 4.9 → 4.0 s; the worker's CPU unchanged (~0.65 s in the chunk copies).
 *
 * Key values travel as text (`key::text`) and come back as literals cast to the key's type: COPY
 * takes no parameters. Chunk boundaries follow the source's sort order and only the source's.
 *
 * Order: a chunk is its key range, so its rows are read in whatever order the planner likes (a
 * sequential or bitmap heap scan), not in key order. An index scan in key order visits the heap
 * page by page at random when the key is not the physical order (uuid, text). Measured with psql
 * on bench_clone (PG 15, 11 keyed tables of 670k rows, binary COPY of each whole table): 5.3 s in
 * key order against 3.0 s unordered; 1.34 s against 0.50 s for the uuid-keyed one. The target gets
 * the rows in the source's physical order, as from pg_dump.
 */

/**
 * The source as the data copy reads it: simple queries answered as text rows, and COPY relayed
 * in blocks (pg-wire.ts WireConnection).
 */
export interface ChunkSource extends CopySource {
  query(text: string): Promise<(string | null)[][]>;
}

/**
 * The target as the data copy writes it: the same kind of connection, taking the blocks with
 * COPY FROM STDIN. Statements go as simple queries with their values inlined as literals (COPY
 * takes no parameters, and nothing is prepared per chunk).
 */
export interface ChunkTarget extends CopyTarget {
  query(text: string): Promise<(string | null)[][]>;
  /** The socket failed: no ROLLBACK can be sent, the server rolls back as the session ends. */
  readonly broken: boolean;
}

type Key = NonNullable<TableInfo["key"]>;

export interface ChunkResult {
  rows: number;
  lastKey: string[] | null;
  /** No rows were left beyond this chunk when it was planned. */
  done: boolean;
  /** The target already had this chunk (a re-run after a kill): nothing was copied again. */
  replayed: boolean;
}

/**
 * Copies the next chunk of rows with key > `after` (null = from the start), at most `maxRows`,
 * streaming COPY source → target into a table that has no keys yet (they are built after the
 * data). Exactly once: in ONE target transaction it records the chunk in the job's ledger
 * (_reelforge_clone.chunks, keyed by where the chunk starts) and COPYs its rows; a re-run after
 * a kill finds the record and copies nothing, and two workers racing on one chunk serialise on
 * the record's key, so the loser rolls back. A table's first chunk also empties the table (which
 * the schema phase left empty) in that transaction, so its rows go in frozen. The ledger must exist (ensureLedger). The caller
 * records `lastKey` only after this returns.
 */
export async function copyChunk(
  source: ChunkSource,
  target: ChunkTarget,
  table: TableInfo,
  jobId: string,
  after: string[] | null,
  maxRows: number,
  format: CopyFormat = "text",
): Promise<ChunkResult> {
  if (table.partitioned) {
    throw new Error(`${qualifiedName(table)} is a partitioned parent; copy its partitions`);
  }
  if (!Number.isInteger(maxRows) || maxRows < 1) {
    throw new Error(`maxRows must be a positive integer, got ${maxRows}`);
  }
  const key = table.key;
  if (!key || key.length === 0) {
    return await copyPageChunk(source, target, table, jobId, after, maxRows, format);
  }
  if (after && after.length !== key.length) {
    throw new Error(`a key of ${key.length} column(s) cannot start after ${JSON.stringify(after)}`);
  }

  const name = qualifiedName(table);
  const afterKey = JSON.stringify(after);
  const recorded = await findChunk(target, jobId, name, afterKey);
  if (recorded) return recorded;

  const keyColumns = key.map((k) => quoteIdent(k.column)).join(", ");
  const [upperRow] = await source.query(
    `select ${keyAsText(key)} from only ${name} where ${keyRange(key, after, null)}${filtered(table)}
           order by ${keyColumns} offset ${maxRows - 1} limit 1`,
  );
  // Fewer than maxRows left: the last chunk ends at the last key there is now.
  const upper = (upperRow as string[] | undefined) ?? await lastSourceKey(source, table, key, after);
  if (!upper) return { rows: 0, lastKey: after, done: true, replayed: false };
  const done = !upperRow;
  const range = `${keyRange(key, after, upper)}${filtered(table)}`;

  return await copyRecordedChunk(source, target, table, jobId, { after, upper, done, where: range }, format);
}

/** Pages read ahead of a keyless table's chunk to size it. */
const SAMPLED_PAGES = 8;

/**
 * A table without a usable key goes by ranges of heap pages (`ctid`), `after` being the first page
 * not copied yet: resumable like a keyed table, where a copy in one transaction that started over
 * after every interruption never finished a table too big for one slice. A chunk is sized from
 * `maxRows` and the rows on the SAMPLED_PAGES pages where it starts; the last one (the pages the table has now reached) is
 * open-ended, so rows appended meanwhile are copied too. Consistency is as for keyed chunks: a row
 * updated during the copy moves to another page and may be copied twice or not at all, and verify
 * reports the table. A range reads only its pages (a TID range scan, PostgreSQL 14 and later).
 */
async function copyPageChunk(
  source: ChunkSource,
  target: ChunkTarget,
  table: TableInfo,
  jobId: string,
  after: string[] | null,
  maxRows: number,
  format: CopyFormat,
): Promise<ChunkResult> {
  if (after && (after.length !== 1 || !/^\d+$/.test(after[0]))) {
    throw new Error(`a keyless table's chunks start at a page number, not ${JSON.stringify(after)}`);
  }
  const name = qualifiedName(table);
  const recorded = await findChunk(target, jobId, name, JSON.stringify(after));
  if (recorded) return recorded;
  const from = after ? Number(after[0]) : 0;
  // The rows on the next few pages tell how many pages make maxRows; the plan's estimate only when
  // they hold none (its statistics may predate the rows).
  const [[pagesText, sampledText]] = await source.query(
    `select pg_relation_size(${quoteLiteral(name)}::regclass) / current_setting('block_size')::int8,
            (select count(*) from only ${name}
              where ctid >= '(${from},0)'::tid and ctid < '(${from + SAMPLED_PAGES},0)'::tid)`,
  );
  const pages = Number(pagesText);
  const sampled = Number(sampledText);
  const sampledPages = Math.max(1, Math.min(SAMPLED_PAGES, pages - from));
  const rowsPerPage = Math.max(
    1,
    sampled > 0 ? sampled / sampledPages : table.estimatedRows / Math.max(1, pages),
  );
  const upper = from + Math.max(1, Math.ceil(maxRows / rowsPerPage));
  const done = upper >= pages;
  const range = `ctid >= '(${from},0)'::tid${done ? "" : ` and ctid < '(${upper},0)'::tid`}${
    filtered(table)
  }`;
  return await copyRecordedChunk(
    source,
    target,
    table,
    jobId,
    { after, upper: [String(upper)], done, where: range },
    format,
  );
}

/**
 * Copies the rows `chunk.where` selects, exactly once: in ONE target transaction it records the
 * chunk in the job's ledger (keyed by where it starts) and COPYs its rows.
 */
async function copyRecordedChunk(
  source: ChunkSource,
  target: ChunkTarget,
  table: TableInfo,
  jobId: string,
  chunk: { after: string[] | null; upper: string[]; done: boolean; where: string },
  format: CopyFormat,
): Promise<ChunkResult> {
  const name = qualifiedName(table);
  const columns = columnList(table);
  const afterKey = JSON.stringify(chunk.after);
  const record = `job_id = ${quoteLiteral(jobId)} and table_name = ${quoteLiteral(name)} and after_key = ${
    quoteLiteral(afterKey)
  }`;
  return await inTransaction(target, async () => {
    await target.query(
      `insert into _reelforge_clone.chunks (job_id, table_name, after_key, upper_key, rows, done)
       values (${quoteLiteral(jobId)}, ${quoteLiteral(name)}, ${quoteLiteral(afterKey)}, ${
        textArray(chunk.upper)
      }, 0, ${chunk.done})`,
    );
    // The first chunk finds the table as the schema phase made it, empty; emptied here in the same
    // transaction, it may take its rows frozen (see copyOptions). Only after the ledger row: a racer
    // waits on that first and rolls back, never truncating a chunk that committed.
    const first = chunk.after === null;
    if (first) await target.query(`truncate only ${name}`);
    // A table may have no columns at all: its rows still count, and COPY then takes no column list.
    const rows = await relayCopy(
      source,
      `copy (select ${columns} from only ${name} where ${chunk.where}) to stdout${copyOptions(format)}`,
      target,
      `copy ${name}${columns ? ` (${columns})` : ""} from stdin${copyOptions(format, first)}`,
    );
    await target.query(`update _reelforge_clone.chunks set rows = ${rows} where ${record}`);
    return { rows, lastKey: chunk.upper, done: chunk.done, replayed: false };
  });
}

async function findChunk(
  target: ChunkTarget,
  jobId: string,
  name: string,
  afterKey: string,
): Promise<ChunkResult | null> {
  const [row] = await target.query(
    `select array_to_json(upper_key)::text, rows::text, done::text from _reelforge_clone.chunks
      where job_id = ${quoteLiteral(jobId)} and table_name = ${quoteLiteral(name)}
        and after_key = ${quoteLiteral(afterKey)}`,
  );
  return row
    ? {
      rows: Number(row[1]),
      lastKey: row[0] === null ? null : JSON.parse(row[0]) as string[] | null,
      done: row[2] === "true",
      replayed: true,
    }
    : null;
}

/**
 * Runs `work` in one target transaction: committed if it returns, rolled back if it throws (on a
 * broken connection the server does that itself when the session ends).
 */
async function inTransaction<T>(target: ChunkTarget, work: () => Promise<T>): Promise<T> {
  await target.query("begin");
  let result: T;
  try {
    result = await work();
  } catch (error) {
    if (!target.broken) await target.query("rollback").catch(() => {});
    throw error;
  }
  await target.query("commit");
  return result;
}

/** `array[...]::text[]` of the values, as literals. */
function textArray(values: string[]): string {
  return `array[${values.map(quoteLiteral).join(", ")}]::text[]`;
}

/**
 * COPY's options: the format (text is the default), and FREEZE for a COPY FROM into a table this
 * transaction emptied. Frozen rows are written already visible to every transaction, with the
 * table's pages marked all-visible: the first reader (post_data's index builds, verify) does not
 * have to check and mark every row as committed, dirtying every page once more. Measured on a
 * 121 MB table (PG 15): the first full scan after a plain COPY took 0.66 s, later ones 0.47 s;
 * after COPY FREEZE the first took 0.46 s.
 */
function copyOptions(format: CopyFormat, freeze = false): string {
  const options = [...(format === "binary" ? ["format binary"] : []), ...(freeze ? ["freeze"] : [])];
  return options.length > 0 ? ` with (${options.join(", ")})` : "";
}

/** ` and (<filter>)` for a table whose rows the copy leaves some out of (TableInfo.rowFilter). */
function filtered(table: TableInfo): string {
  return table.rowFilter ? ` and (${table.rowFilter})` : "";
}

function columnList(table: TableInfo): string {
  return table.columns.map(quoteIdent).join(", ");
}

function keyAsText(key: Key): string {
  return key.map((k, i) => `${quoteIdent(k.column)}::text as k${i}`).join(", ");
}

/** `(k1, k2) > (after) and (k1, k2) <= (upper)`; row comparison uses the key's index in key order. */
function keyRange(key: Key, after: string[] | null, upper: string[] | null): string {
  const columns = `(${key.map((k) => quoteIdent(k.column)).join(", ")})`;
  const values = (bound: string[]) =>
    `(${bound.map((v, i) => `${quoteLiteral(v)}::${key[i].type}`).join(", ")})`;
  const conditions = [];
  if (after) conditions.push(`${columns} > ${values(after)}`);
  if (upper) conditions.push(`${columns} <= ${values(upper)}`);
  return conditions.length > 0 ? conditions.join(" and ") : "true";
}

async function lastSourceKey(
  source: ChunkSource,
  table: TableInfo,
  key: Key,
  after: string[] | null,
): Promise<string[] | null> {
  const descending = key.map((k) => `${quoteIdent(k.column)} desc`).join(", ");
  const [row] = await source.query(
    `select ${keyAsText(key)} from only ${qualifiedName(table)} where ${keyRange(key, after, null)}${
      filtered(table)
    }
           order by ${descending} limit 1`,
  );
  return row ? (row as string[]) : null;
}
