/**
 * Tables, as pg_dump builds them: every table (partitions too) is created on its own with its
 * columns, defaults, identity, generated columns and NOT NULL, then partitions are attached to
 * their parent. Also what the data copy needs to know about each table (TableInfo).
 */
import {
  type CatalogRead,
  type DdlStatement,
  dependencyOrder,
  type NamedRow,
  withOptions,
} from "./catalog-read.ts";
import { readColumnTypeFacts } from "./catalog-copy-format.ts";
import { binaryPortable } from "./copy-format.ts";
import { qualifiedName, quoteIdent } from "./sql-text.ts";
import type { TableInfo } from "./table-info.ts";

interface Column {
  attnum: number;
  name: string;
  type: string;
  typeOid: number;
  notNull: boolean;
  identity: "" | "a" | "d";
  generated: "" | "s";
  default: string | null;
  collation: string | null;
  local: boolean;
  statistics: number;
  storage: string | null;
  compression: string | null;
}

const STORAGE: Record<string, string> = { p: "plain", e: "external", m: "main", x: "extended" };
const COMPRESSION: Record<string, string> = { p: "pglz", l: "lz4" };

export interface TableStatements {
  create: DdlStatement[];
  attach: DdlStatement[];
  tables: TableInfo[];
  /** Indexes that must exist before the data: primary keys and the chosen chunking keys. */
  keyIndexOids: Set<number>;
}

/** Tables up to this size that were never analyzed are counted; of bigger ones, about this much is read. */
const COUNTED_BYTES = 16 * 1024 * 1024;

/**
 * The rows of a table never analyzed (reltuples -1: a dump just restored, say), which status
 * showed as none to copy, with no time left: none when its heap is empty, a count when it is
 * small, else the rows of a sample of its pages scaled to all of them. The planner's estimate
 * from the size alone guesses each text value at 32 bytes, which can be off severalfold.
 */
async function unanalyzedRows(tx: CatalogRead["tx"], table: NamedRow): Promise<number> {
  if (table.heap_bytes === 0) return 0;
  const relation = qualifiedName(table);
  const percent = Math.min(100, (COUNTED_BYTES / table.heap_bytes) * 100);
  const sample = percent < 100 ? ` tablesample system (${percent.toFixed(6)}) repeatable (0)` : "";
  const [{ rows }] = await tx.unsafe(`select count(*)::float8 as rows from only ${relation}${sample}`);
  return Math.round((rows * 100) / percent);
}

export async function readTables(
  read: CatalogRead,
  identityOptions: Map<string, string>,
): Promise<TableStatements> {
  const { tx, schemas } = read;
  const tables = await tx<NamedRow[]>`
    select c.oid, n.nspname as schema, c.relname as name, c.relkind = 'p' as partitioned,
           c.relpersistence = 'u' as unlogged, c.reloptions::text[] as reloptions, c.relispartition as is_partition,
           pg_get_partkeydef(c.oid) as partition_key, nullif(c.reloftype, 0)::regtype::text as of_type, pg_get_expr(c.relpartbound, c.oid) as bound,
           c.reltuples::float8 as estimated_rows, pg_relation_size(c.oid)::float8 as heap_bytes,
           (select json_agg(json_build_object('oid', p.oid, 'schema', pn.nspname, 'name', p.relname) order by i.inhseqno)
              from pg_inherits i join pg_class p on p.oid = i.inhparent join pg_namespace pn on pn.oid = p.relnamespace
             where i.inhrelid = c.oid) as parents,
           (select json_agg(json_build_object(
                     'attnum', a.attnum, 'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod), 'typeOid', a.atttypid::int8,
                     'notNull', a.attnotnull, 'identity', a.attidentity, 'generated', a.attgenerated,
                     'default', pg_get_expr(d.adbin, d.adrelid), 'local', a.attislocal, 'statistics', a.attstattarget,
                     'storage', nullif(a.attstorage, t.typstorage), 'compression', nullif(a.attcompression, ''),
                     'collation', case when a.attcollation <> t.typcollation then
                       (select format('%I.%I', cn.nspname, co.collname) from pg_collation co
                          join pg_namespace cn on cn.oid = co.collnamespace where co.oid = a.attcollation) end)
                   order by a.attnum)
              from pg_attribute a join pg_type t on t.oid = a.atttypid
              left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
             where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as columns
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind in ('r', 'p') and n.nspname = any(${schemas}::text[])
       and not exists (select from pg_depend e where e.classid = 'pg_class'::regclass and e.objid = c.oid and e.deptype = 'e')
     order by n.nspname, c.relname`;

  for (const t of tables) {
    if (!t.partitioned && t.estimated_rows < 0) t.estimated_rows = await unanalyzedRows(tx, t);
  }

  // Unique keys on NOT NULL plain columns, best first: the primary key, then the narrowest.
  const keys = await tx`
    select i.indrelid as table_oid, i.indexrelid as index_oid,
           (select json_agg(json_build_object('column', a.attname, 'type', format_type(a.atttypid, a.atttypmod)) order by k.ord)
              from unnest(i.indkey::int2[]) with ordinality k(attnum, ord)
              join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
             where k.ord <= i.indnkeyatts) as columns
      from pg_index i join pg_class ic on ic.oid = i.indexrelid
     where i.indrelid = any(${tables.map((t) => t.oid)}::oid[])
       and i.indisunique and i.indisvalid and i.indpred is null and i.indexprs is null
       and not exists (select from pg_attribute a where a.attrelid = i.indrelid
                        and a.attnum = any((i.indkey::int2[])[0:i.indnkeyatts - 1]) and not a.attnotnull)
     order by i.indisprimary desc, i.indnkeyatts, ic.relname`;
  const keyOf = new Map<number, { index: number; columns: { column: string; type: string }[] }>();
  for (const k of keys) {
    if (!keyOf.has(k.table_oid)) keyOf.set(k.table_oid, { index: k.index_oid, columns: k.columns });
  }

  const copied = (t: NamedRow) => ((t.columns ?? []) as Column[]).filter((c) => c.generated === "");
  const typeFacts = await readColumnTypeFacts(read, [
    ...new Set(tables.flatMap((t) => copied(t).map((c) => c.typeOid))),
  ]);

  // A plain-inheritance child is created after its parents; partitions are attached afterwards.
  const edges = tables.flatMap((t) =>
    t.is_partition
      ? []
      : (t.parents ?? []).map((p: { oid: number }) => ({ from: String(t.oid), to: String(p.oid) }))
  );
  const result: TableStatements = {
    create: [],
    attach: [],
    tables: tables.map((t) => ({
      schema: t.schema,
      name: t.name,
      columns: copied(t).map((c) => c.name),
      key: keyOf.get(t.oid)?.columns ?? null,
      estimatedRows: t.partitioned ? 0 : Math.round(t.estimated_rows),
      partitioned: t.partitioned,
      binaryPortable: binaryPortable(copied(t).map((c) => typeFacts.get(c.typeOid)), schemas),
    })),
    keyIndexOids: new Set([...keyOf.values()].map((key) => key.index)),
  };
  for (const t of dependencyOrder([...tables], (t) => String(t.oid), edges)) {
    const name = qualifiedName(t);
    const columns: Column[] = t.columns ?? [];
    const inherits = !t.is_partition && t.parents?.length;
    const create = `create ${t.unlogged ? "unlogged " : ""}table ${name}`;
    let sql: string;
    if (t.of_type) {
      // A typed table's columns are its type's: only what the table adds to them is said here.
      const options = columns.flatMap((c) => {
        const qualifiers = columnQualifiers(c, identityOptions.get(`${t.oid}:${c.attnum}`));
        return qualifiers ? [`${quoteIdent(c.name)} with options${qualifiers}`] : [];
      });
      sql = `${create} of ${t.of_type}${options.length > 0 ? ` (${options.join(", ")})` : ""}`;
    } else {
      const definitions = columns.filter((c) => !inherits || c.local).map((c) =>
        columnDefinition(c, identityOptions.get(`${t.oid}:${c.attnum}`))
      );
      sql = `${create} (${definitions.join(", ")})`;
    }
    if (inherits) sql += ` inherits (${t.parents.map(qualifiedName).join(", ")})`;
    if (t.partitioned) sql += ` partition by ${t.partition_key}`;
    sql += withOptions(t.reloptions);
    result.create.push({
      key: `table:${t.schema}.${t.name}`,
      sql,
      drop: `drop table if exists ${name} cascade`,
    });
    const settings = columns.flatMap(columnSettings);
    if (settings.length > 0) {
      result.create.push({
        key: `column-settings:${t.schema}.${t.name}`,
        sql: `alter table only ${name} ${settings.join(", ")}`,
      });
    }
    if (t.is_partition) {
      result.attach.push({
        key: `attach:${t.schema}.${t.name}`,
        sql: `alter table only ${qualifiedName(t.parents[0])} attach partition ${name} ${t.bound}`,
      });
    }
  }
  return result;
}

/** What CREATE TABLE cannot say about a column: statistics target, storage, compression. */
function columnSettings(column: Column): string[] {
  const alter = `alter column ${quoteIdent(column.name)}`;
  return [
    ...column.statistics >= 0 ? [`${alter} set statistics ${column.statistics}`] : [],
    ...column.storage ? [`${alter} set storage ${STORAGE[column.storage]}`] : [],
    ...column.compression ? [`${alter} set compression ${COMPRESSION[column.compression]}`] : [],
  ];
}

function columnDefinition(column: Column, identityOptions: string | undefined): string {
  let sql = `${quoteIdent(column.name)} ${column.type}`;
  if (column.collation) sql += ` collate ${column.collation}`;
  return sql + columnQualifiers(column, identityOptions);
}

/** A column's generated expression or identity, default and NOT NULL, each with a leading space. */
function columnQualifiers(column: Column, identityOptions: string | undefined): string {
  let sql = "";
  if (column.generated === "s") sql += ` generated always as (${column.default}) stored`;
  else if (column.identity) {
    sql += ` generated ${column.identity === "a" ? "always" : "by default"} as identity`;
    if (identityOptions) sql += ` (${identityOptions})`;
  } else if (column.default !== null) sql += ` default ${column.default}`;
  if (column.notNull) sql += " not null";
  return sql;
}
