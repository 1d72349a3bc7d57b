/**
 * Sequences: free-standing and serial ones are created before the tables and tied to their column
 * with OWNED BY after; identity sequences come with their column, so only their options are read
 * here. All of them are listed for the copy, which sets their values after the data.
 */
import type { CatalogRead, DdlStatement, NamedRow } from "./catalog-read.ts";
import { qualifiedName, quoteIdent } from "./sql-text.ts";

export interface SequenceStatements {
  create: DdlStatement[];
  ownedBy: DdlStatement[];
  /** Options of identity columns' sequences, by "<table oid>:<attnum>". */
  identityOptions: Map<string, string>;
  sequences: { schema: string; name: string }[];
}

export async function readSequences({ tx, schemas }: CatalogRead): Promise<SequenceStatements> {
  const rows = await tx<NamedRow[]>`
    select n.nspname as schema, c.relname as name, c.relpersistence = 'u' as unlogged,
           format_type(s.seqtypid, null) as type, s.seqstart::text as start, s.seqincrement::text as increment,
           s.seqmin::text as min, s.seqmax::text as max, s.seqcache::text as cache, s.seqcycle as cycle,
           owner.deptype as owner_kind, owner.refobjid::text as table_oid, owner.refobjsubid as attnum,
           tn.nspname as table_schema, t.relname as table_name, a.attname as column_name
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      join pg_sequence s on s.seqrelid = c.oid
      left join pg_depend owner on owner.classid = 'pg_class'::regclass and owner.objid = c.oid
            and owner.refclassid = 'pg_class'::regclass and owner.refobjsubid > 0 and owner.deptype in ('a', 'i')
      left join pg_class t on t.oid = owner.refobjid
      left join pg_namespace tn on tn.oid = t.relnamespace
      left join pg_attribute a on a.attrelid = owner.refobjid and a.attnum = owner.refobjsubid
     where c.relkind = 'S' and n.nspname = any(${schemas}::text[])
       and not exists (select from pg_depend e where e.classid = 'pg_class'::regclass and e.objid = c.oid and e.deptype = 'e')
     order by n.nspname, c.relname`;

  const result: SequenceStatements = { create: [], ownedBy: [], identityOptions: new Map(), sequences: [] };
  for (const s of rows) {
    const name = qualifiedName(s);
    result.sequences.push({ schema: s.schema, name: s.name });
    const options =
      `increment by ${s.increment} minvalue ${s.min} maxvalue ${s.max} start with ${s.start} cache ${s.cache}` +
      (s.cycle ? " cycle" : " no cycle");
    if (s.owner_kind === "i") {
      result.identityOptions.set(`${s.table_oid}:${s.attnum}`, `sequence name ${name} ${options}`);
      continue;
    }
    result.create.push({
      key: `sequence:${s.schema}.${s.name}`,
      sql: `create ${s.unlogged ? "unlogged " : ""}sequence ${name} as ${s.type} ${options}`,
      drop: `drop sequence if exists ${name} cascade`,
    });
    if (s.owner_kind === "a" && schemas.includes(s.table_schema)) {
      result.ownedBy.push({
        key: `owned-by:${s.schema}.${s.name}`,
        sql: `alter sequence ${name} owned by ${
          qualifiedName({ schema: s.table_schema, name: s.table_name })
        }.${quoteIdent(s.column_name)}`,
      });
    }
  }
  return result;
}
