/**
 * Constraints, indexes and extended statistics, from pg_get_constraintdef, pg_get_indexdef and
 * pg_get_statisticsobjdef. All of them wait for the data; `keys` (primary keys and the chosen
 * chunking keys) come first, since the other constraints and some views lean on them. Partitioned indexes follow pg_dump: each
 * table gets its own index (ON ONLY for the parent), then the child is attached to the parent.
 */
import { type CatalogRead, type DdlStatement, type NamedRow, withOptions } from "./catalog-read.ts";
import { qualifiedName, quoteIdent } from "./sql-text.ts";

export interface ConstraintStatements {
  keys: DdlStatement[];
  indexes: DdlStatement[];
  constraints: DdlStatement[];
  foreignKeys: DdlStatement[];
  tableSettings: DdlStatement[];
}

export async function readConstraints(
  { tx, schemas }: CatalogRead,
  keyIndexOids: Set<number>,
): Promise<ConstraintStatements> {
  const constraints = await tx`
    select co.conname as name, co.contype as type, n.nspname as schema, c.relname as table_name,
           c.relkind = 'p' as partitioned, pg_get_constraintdef(co.oid) as def, co.conindid as index_oid,
           co.conparentid <> 0 as has_parent, c.relhassubclass as has_children, rn.nspname as ref_schema,
           r.relname as ref_table, r.relkind = 'p' as ref_partitioned,
           (select ki.reloptions from pg_class ki where ki.oid = co.conindid) as index_options
      from pg_constraint co
      join pg_class c on c.oid = co.conrelid
      join pg_namespace n on n.oid = c.relnamespace
      left join pg_class r on r.oid = co.confrelid
      left join pg_namespace rn on rn.oid = r.relnamespace
     where n.nspname = any(${schemas}::text[]) and c.relkind in ('r', 'p')
       and (co.contype in ('p', 'u', 'x') or (co.contype = 'c' and co.conislocal) or (co.contype = 'f' and co.conparentid = 0))
       and not exists (select from pg_depend e where e.classid = 'pg_class'::regclass and e.objid = c.oid and e.deptype = 'e')
     order by n.nspname, c.relname, co.conname`;

  const indexes = await tx<NamedRow[]>`
    select i.indexrelid as oid, n.nspname as schema, ic.relname as name, pg_get_indexdef(i.indexrelid) as def,
           tn.nspname as table_schema, t.relname as table_name, i.indisclustered as clustered, i.indisreplident as replica_identity,
           exists (select from pg_constraint co where co.conindid = i.indexrelid and co.conrelid = i.indrelid
                    and co.contype in ('p', 'u', 'x')) as backs_constraint,
           (select json_build_object('oid', p.oid, 'schema', pn.nspname, 'name', p.relname)
              from pg_inherits ih join pg_class p on p.oid = ih.inhparent join pg_namespace pn on pn.oid = p.relnamespace
             where ih.inhrelid = i.indexrelid) as parent
      from pg_index i
      join pg_class ic on ic.oid = i.indexrelid
      join pg_namespace n on n.oid = ic.relnamespace
      join pg_class t on t.oid = i.indrelid
      join pg_namespace tn on tn.oid = t.relnamespace
     where n.nspname = any(${schemas}::text[]) and t.relkind in ('r', 'p', 'm')
       and (i.indisvalid or t.relkind = 'p')
       and not exists (select from pg_depend e where e.classid = 'pg_class'::regclass and e.objid = t.oid and e.deptype = 'e')
     order by n.nspname, ic.relname`;

  const statistics = await tx<NamedRow[]>`
    select n.nspname as schema, s.stxname as name, pg_get_statisticsobjdef(s.oid) as def, s.stxstattarget as target
      from pg_statistic_ext s join pg_namespace n on n.oid = s.stxnamespace
     where n.nspname = any(${schemas}::text[])
       and not exists (select from pg_depend e where e.classid = 'pg_class'::regclass and e.objid = s.stxrelid and e.deptype = 'e')
     order by n.nspname, s.stxname`;

  const replicaIdentities = await tx<NamedRow[]>`
    select n.nspname as schema, c.relname as name, c.relreplident as kind
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any(${schemas}::text[]) and c.relkind in ('r', 'p') and c.relreplident in ('f', 'n')
     order by n.nspname, c.relname`;

  const result: ConstraintStatements = {
    keys: [],
    indexes: [],
    constraints: [],
    foreignKeys: [],
    tableSettings: [],
  };
  for (const co of constraints) {
    const table = qualifiedName({ schema: co.schema, name: co.table_name });
    // ONLY where pg_dump says it: a check must reach inheritance children, a partitioned table's
    // foreign key must reach its partitions, and an index-backed constraint is attached per table.
    const only = co.type === "c" || (co.type === "f" && co.partitioned) ? "" : "only ";
    const statement: DdlStatement = {
      key: `constraint:${co.schema}.${co.table_name}.${co.name}`,
      sql: `alter table ${only}${table} add constraint ${quoteIdent(co.name)} ${
        keyDefinition(co.type, co.def, co.index_options)
      }`,
      // A partition's copy of its parent's key cannot be dropped alone; dropping the table does it.
      drop: co.has_parent
        ? undefined
        : `alter table if exists ${table} drop constraint if exists ${quoteIdent(co.name)} cascade`,
      tables: parallelTables(co as Parameters<typeof parallelTables>[0], table),
    };
    if (co.type === "f") result.foreignKeys.push(statement);
    else if (keyIndexOids.has(co.index_oid)) result.keys.push(statement);
    else result.constraints.push(statement);
  }

  const attachKeys: DdlStatement[] = [];
  const attachOthers: DdlStatement[] = [];
  for (const index of indexes) {
    const name = qualifiedName(index);
    const table = qualifiedName({ schema: index.table_schema, name: index.table_name });
    if (!index.backs_constraint) {
      const statement = {
        key: `index:${index.schema}.${index.name}`,
        sql: index.def,
        drop: index.parent ? undefined : `drop index if exists ${name}`,
        // pg_get_indexdef says ON ONLY for a partitioned table: one table either way.
        tables: [table],
      };
      (keyIndexOids.has(index.oid) ? result.keys : result.indexes).push(statement);
    }
    if (index.parent) {
      const beforeData = keyIndexOids.has(index.oid) && keyIndexOids.has(index.parent.oid);
      (beforeData ? attachKeys : attachOthers).push({
        key: `index-attach:${index.schema}.${index.name}`,
        sql: `alter index ${qualifiedName(index.parent)} attach partition ${name}`,
      });
    }
    if (index.clustered) {
      result.tableSettings.push({
        key: `cluster:${index.table_schema}.${index.table_name}`,
        sql: `alter table only ${table} cluster on ${quoteIdent(index.name)}`,
      });
    }
    if (index.replica_identity) {
      result.tableSettings.push({
        key: `replica-identity:${index.table_schema}.${index.table_name}`,
        sql: `alter table only ${table} replica identity using index ${quoteIdent(index.name)}`,
      });
    }
  }
  for (const r of replicaIdentities) {
    result.tableSettings.push({
      key: `replica-identity:${r.schema}.${r.name}`,
      sql: `alter table only ${qualifiedName(r)} replica identity ${r.kind === "f" ? "full" : "nothing"}`,
    });
  }
  for (const st of statistics) {
    const name = qualifiedName(st);
    result.indexes.push({
      key: `statistics:${st.schema}.${st.name}`,
      sql: st.def,
      drop: `drop statistics if exists ${name}`,
    });
    if (st.target >= 0) {
      result.tableSettings.push({
        key: `statistics-target:${st.schema}.${st.name}`,
        sql: `alter statistics ${name} set statistics ${st.target}`,
      });
    }
  }
  result.keys.push(...attachKeys);
  // Unique and exclusion constraints go in before the attaches that need both sides to exist.
  result.constraints.push(...attachOthers);
  return result;
}

/**
 * The tables a constraint's build locks, when it locks no others: a key, unique or exclusion
 * constraint on its own table (ONLY), a check on a table without children (without ONLY, a check
 * reaches inheritance children and partitions), a foreign key between two tables neither of
 * which is partitioned (one on a partitioned table recurses into its partitions).
 */
function parallelTables(
  co: {
    type: string;
    partitioned: boolean;
    has_children: boolean;
    ref_partitioned: boolean | null;
    ref_schema: string;
    ref_table: string;
  },
  table: string,
): string[] | undefined {
  if (co.type === "p" || co.type === "u" || co.type === "x") return [table];
  if (co.type === "c" && !co.has_children) return [table];
  if (co.type === "f" && !co.partitioned && !co.ref_partitioned) {
    return [table, qualifiedName({ schema: co.ref_schema, name: co.ref_table })];
  }
  return undefined;
}

/**
 * A constraint's definition with its index's storage parameters. pg_get_constraintdef leaves
 * them out of a primary key or unique constraint (pg_dump adds them itself), and they go after
 * the columns and INCLUDE list, before DEFERRABLE / INITIALLY, which hold no parentheses.
 */
function keyDefinition(type: string, def: string, indexOptions: string[] | null): string {
  if ((type !== "p" && type !== "u") || !indexOptions?.length) return def;
  const end = def.lastIndexOf(")") + 1;
  return `${def.slice(0, end)}${withOptions(indexOptions)}${def.slice(end)}`;
}
