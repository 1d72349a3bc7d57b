/**
 * The schema phase's routines and what is built on them — functions, aggregates, operators,
 * operator families and classes, casts and the types that need a cloned function (a range's
 * subtype_diff) — in one dependency sort, as pg_dump orders its pre-data: each after what
 * pg_depend says it uses. Function bodies are not among those uses (the executor turns
 * check_function_bodies off), so a function may read an object created after it.
 */
import { type CatalogRead, type DdlStatement, dependencyOrder, type PlanNode } from "./catalog-read.ts";

export async function orderRoutines({ tx }: CatalogRead, nodes: PlanNode[]): Promise<DdlStatement[]> {
  const oids = nodes.map((node) => node.id.slice(1));
  // Node ids are tagged by catalog (see PlanNode). A use of an array type is a use of its
  // element type, and one of a multirange a use of its range.
  const edges = await tx<{ from: string; to: string }[]>`
    with tags (tag, catalog) as (values ('f', 'pg_proc'::regclass), ('t', 'pg_type'::regclass),
      ('o', 'pg_operator'::regclass), ('F', 'pg_opfamily'::regclass), ('c', 'pg_opclass'::regclass),
      ('k', 'pg_cast'::regclass))
    select object.tag || d.objid as "from",
           used.tag || coalesce(element.oid, r.rngtypid, d.refobjid) as "to"
      from pg_depend d
      join tags object on object.catalog = d.classid
      join tags used on used.catalog = d.refclassid
      left join pg_type t on d.refclassid = 'pg_type'::regclass and t.oid = d.refobjid
      left join pg_type element on element.oid = t.typelem and t.typcategory = 'A'
      left join pg_range r on r.rngmultitypid = t.oid
     where d.objid = any(${oids}::oid[]) and d.deptype in ('n', 'a')`;
  const explicit = nodes.flatMap((node) => (node.after ?? []).map((to) => ({ from: node.id, to })));
  return dependencyOrder(nodes, (node) => node.id, [...edges, ...explicit]).map((node) => node.statement);
}
