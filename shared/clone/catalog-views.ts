/**
 * Views and materialized views, sorted together with the late functions (see catalog-functions)
 * by what depends on what: a view reads another view or calls a function, a function returns a
 * view's rows. Materialized views are created empty; refreshing them is a separate statement.
 */
import {
  type CatalogRead,
  type DdlStatement,
  dependencyOrder,
  type NamedRow,
  withOptions,
} from "./catalog-read.ts";
import type { LateFunction } from "./catalog-functions.ts";
import { qualifiedName } from "./sql-text.ts";

export interface ViewStatements {
  /** Views, materialized views and late functions, each after what it uses. */
  create: DdlStatement[];
  /** `refresh materialized view`, in dependency order, for those populated on the source. */
  refresh: DdlStatement[];
}

export async function readViews(
  { tx, schemas }: CatalogRead,
  lateFunctions: LateFunction[],
): Promise<ViewStatements> {
  const views = await tx<NamedRow[]>`
    select c.oid, n.nspname as schema, c.relname as name, c.relkind = 'm' as materialized, c.relispopulated as populated,
           c.reloptions::text[] as reloptions, pg_get_viewdef(c.oid) as def
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind in ('v', 'm') and n.nspname = any(${schemas}::text[])
       and not exists (select from pg_depend e where e.classid = 'pg_class'::regclass and e.objid = c.oid and e.deptype = 'e')
     order by n.nspname, c.relname`;

  // A view's dependencies are recorded on its _RETURN rule; a type stands for its relation.
  const edges = await tx<{ from: string; to: string }[]>`
    select distinct
           case when d.classid = 'pg_rewrite'::regclass then 'r' || r.ev_class else 'f' || d.objid end as "from",
           case when d.refclassid = 'pg_proc'::regclass then 'f' || d.refobjid
                when d.refclassid = 'pg_class'::regclass then 'r' || d.refobjid
                else 'r' || coalesce(nullif(t.typrelid, 0), element.typrelid) end as "to"
      from pg_depend d
      left join pg_rewrite r on d.classid = 'pg_rewrite'::regclass and r.oid = d.objid
      left join pg_type t on d.refclassid = 'pg_type'::regclass and t.oid = d.refobjid
      left join pg_type element on element.oid = t.typelem and t.typcategory = 'A'
     where ((d.classid = 'pg_rewrite'::regclass and r.rulename = '_RETURN') or d.classid = 'pg_proc'::regclass)
       and d.refclassid in ('pg_proc'::regclass, 'pg_class'::regclass, 'pg_type'::regclass)
       and d.deptype = 'n'`;

  const nodes: { id: string; statement: DdlStatement; refresh?: DdlStatement }[] = [...lateFunctions];
  for (const v of views) {
    const name = qualifiedName(v);
    const query = (v.def as string).trim().replace(/;$/, "");
    const key = `${v.materialized ? "matview" : "view"}:${v.schema}.${v.name}`;
    nodes.push({
      id: `r${v.oid}`,
      statement: v.materialized
        ? {
          key,
          sql: `create materialized view ${name}${withOptions(v.reloptions)} as ${query} with no data`,
          drop: `drop materialized view if exists ${name} cascade`,
        }
        : {
          key,
          sql: `create view ${name}${withOptions(v.reloptions)} as ${query}`,
          drop: `drop view if exists ${name} cascade`,
        },
      refresh: v.materialized && v.populated
        ? { key: `refresh:${v.schema}.${v.name}`, sql: `refresh materialized view ${name}` }
        : undefined,
    });
  }
  const ordered = dependencyOrder(nodes, (node) => node.id, edges);
  return {
    create: ordered.map((node) => node.statement),
    refresh: ordered.flatMap((node) => node.refresh ? [node.refresh] : []),
  };
}
