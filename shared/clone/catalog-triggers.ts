/**
 * Triggers (pg_get_triggerdef, with their enabled state) and rewrite rules (pg_get_ruledef). Both
 * come after the data, so the copy neither fires nor is redirected by them. A partitioned table's
 * trigger is created once on the parent; Postgres clones it onto the partitions.
 */
import type { CatalogRead, DdlStatement } from "./catalog-read.ts";
import { qualifiedName, quoteIdent } from "./sql-text.ts";

const ENABLED_STATE: Record<string, string> = {
  D: "disable trigger",
  R: "enable replica trigger",
  A: "enable always trigger",
};

export async function readTriggersAndRules({ tx, schemas }: CatalogRead): Promise<DdlStatement[]> {
  const triggers = await tx`
    select n.nspname as schema, c.relname as table_name, t.tgname as name, t.tgenabled as enabled,
           pg_get_triggerdef(t.oid) as def
      from pg_trigger t
      join pg_class c on c.oid = t.tgrelid
      join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any(${schemas}::text[]) and not t.tgisinternal and t.tgparentid = 0
       and not exists (select from pg_depend e where e.classid = 'pg_class'::regclass and e.objid = c.oid and e.deptype = 'e')
     order by n.nspname, c.relname, t.tgname`;
  const rules = await tx`
    select n.nspname as schema, c.relname as table_name, r.rulename as name, pg_get_ruledef(r.oid) as def
      from pg_rewrite r
      join pg_class c on c.oid = r.ev_class
      join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any(${schemas}::text[]) and r.rulename <> '_RETURN'
       and not exists (select from pg_depend e where e.classid = 'pg_class'::regclass and e.objid = c.oid and e.deptype = 'e')
     order by n.nspname, c.relname, r.rulename`;

  const statements: DdlStatement[] = [];
  for (const t of triggers) {
    const table = qualifiedName({ schema: t.schema, name: t.table_name });
    const key = `${t.schema}.${t.table_name}.${t.name}`;
    statements.push({
      key: `trigger:${key}`,
      sql: t.def,
      drop: `drop trigger if exists ${quoteIdent(t.name)} on ${table}`,
    });
    if (ENABLED_STATE[t.enabled]) {
      statements.push({
        key: `trigger-state:${key}`,
        sql: `alter table ${table} ${ENABLED_STATE[t.enabled]} ${quoteIdent(t.name)}`,
      });
    }
  }
  for (const r of rules) {
    const table = qualifiedName({ schema: r.schema, name: r.table_name });
    statements.push({
      key: `rule:${r.schema}.${r.table_name}.${r.name}`,
      sql: (r.def as string).trim().replace(/;$/, ""),
      drop: `drop rule if exists ${quoteIdent(r.name)} on ${table}`,
    });
  }
  return statements;
}
