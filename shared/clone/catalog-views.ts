/**
 * Views and materialized views, sorted together with the late routines (see catalog-functions
 * and catalog-routine-order) by what depends on what: a view reads another view or calls a
 * function or aggregate, a function returns a view's rows, an operator takes a table's rows.
 * Materialized views are created empty; refreshing them is a separate statement.
 */
import {
  type CatalogRead,
  type DdlStatement,
  dependencyOrder,
  type NamedRow,
  type PlanNode,
  withOptions,
} from "./catalog-read.ts";
import { qualifiedName } from "./sql-text.ts";

export interface ViewStatements {
  /** Views, materialized views and late routines, each after what it uses. */
  create: DdlStatement[];
  /** `refresh materialized view`, in dependency order, for those populated on the source. */
  refresh: DdlStatement[];
}

export async function readViews(
  { tx, schemas }: CatalogRead,
  lateRoutines: PlanNode[],
): Promise<ViewStatements> {
  const views = await tx<NamedRow[]>`
    select c.oid, n.nspname as schema, c.relname as name, c.relkind = 'm' as materialized, c.relispopulated as populated,
           c.reloptions::text[] as reloptions, pg_get_viewdef(c.oid) as def
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind in ('v', 'm') and n.nspname = any(${schemas}::text[])
       and not exists (select from pg_depend e where e.classid = 'pg_class'::regclass and e.objid = c.oid and e.deptype = 'e')
     order by n.nspname, c.relname`;

  // A view's dependencies are recorded on its _RETURN rule; a row type stands for its relation,
  // an array type for its element. The other ids are tagged by catalog (see PlanNode): late
  // routines can be operators or casts as well as functions.
  const edges = await tx<{ from: string; to: string }[]>`
    with tags (tag, catalog) as (values ('f', 'pg_proc'::regclass), ('t', 'pg_type'::regclass),
      ('o', 'pg_operator'::regclass), ('F', 'pg_opfamily'::regclass), ('c', 'pg_opclass'::regclass),
      ('k', 'pg_cast'::regclass))
    select distinct
           case when d.classid = 'pg_rewrite'::regclass then 'r' || r.ev_class else object.tag || d.objid end as "from",
           case when d.refclassid = 'pg_class'::regclass then 'r' || d.refobjid
                when rel.oid is not null then 'r' || rel.oid
                else used.tag || coalesce(element.oid, d.refobjid) end as "to"
      from pg_depend d
      left join tags object on object.catalog = d.classid
      left join tags used on used.catalog = d.refclassid
      left join pg_rewrite r on d.classid = 'pg_rewrite'::regclass and r.oid = d.objid
      left join pg_type t on d.refclassid = 'pg_type'::regclass and t.oid = d.refobjid
      left join pg_type element on element.oid = t.typelem and t.typcategory = 'A'
      left join pg_class rel on rel.oid = coalesce(nullif(element.typrelid, 0), nullif(t.typrelid, 0))
     where ((d.classid = 'pg_rewrite'::regclass and r.rulename = '_RETURN') or object.tag is not null)
       and (d.refclassid = 'pg_class'::regclass or used.tag is not null)
       and d.deptype = 'n'`;
  const explicit = lateRoutines.flatMap((node) => (node.after ?? []).map((to) => ({ from: node.id, to })));

  const nodes: (PlanNode & { refresh?: DdlStatement })[] = [...lateRoutines];
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
  const ordered = dependencyOrder(nodes, (node) => node.id, [...edges, ...explicit]);
  return {
    create: ordered.map((node) => node.statement),
    refresh: ordered.flatMap((node) => node.refresh ? [node.refresh] : []),
  };
}
