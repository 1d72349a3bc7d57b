/**
 * The schema phase's routines and what is built on them — functions, aggregates, operators,
 * operator families and classes, casts and the types that need a cloned function (a range's
 * subtype_diff) — in one dependency sort, as pg_dump orders its pre-data: each after what
 * pg_depend says it uses. Function bodies are not among those uses (the executor turns
 * check_function_bodies off), so a function may read an object created after it.
 *
 * What uses a table's row type, or a late function (see catalog-functions), cannot be created
 * before the tables: it is late too, and is sorted with the views in post-data instead.
 */
import { type CatalogRead, type DdlStatement, dependencyOrder, type PlanNode } from "./catalog-read.ts";

export interface RoutineStatements {
  /** For the schema phase, before the tables. */
  early: DdlStatement[];
  /** For readViews, with the late functions. */
  late: PlanNode[];
}

export async function orderRoutines(
  { tx }: CatalogRead,
  nodes: PlanNode[],
  lateFunctions: PlanNode[],
): Promise<RoutineStatements> {
  const oids = nodes.map((node) => node.id.slice(1));
  // Node ids are tagged by catalog (see PlanNode), "r" for a relation. A use of an array type is
  // a use of its element type, one of a multirange a use of its range, one of a table's or a
  // view's row type a use of the relation.
  const edges = await tx<{ from: string; to: string }[]>`
    with tags (tag, catalog) as (values ('f', 'pg_proc'::regclass), ('t', 'pg_type'::regclass),
      ('o', 'pg_operator'::regclass), ('F', 'pg_opfamily'::regclass), ('c', 'pg_opclass'::regclass),
      ('k', 'pg_cast'::regclass))
    select object.tag || d.objid as "from",
           case when rel.oid is not null then 'r' || rel.oid
                else used.tag || coalesce(element.oid, r.rngtypid, d.refobjid) end as "to"
      from pg_depend d
      join tags object on object.catalog = d.classid
      join tags used on used.catalog = d.refclassid
      left join pg_type t on d.refclassid = 'pg_type'::regclass and t.oid = d.refobjid
      left join pg_type element on element.oid = t.typelem and t.typcategory = 'A'
      left join pg_range r on r.rngmultitypid = t.oid
      left join pg_class rel on rel.oid = coalesce(nullif(element.typrelid, 0), nullif(t.typrelid, 0))
                            and rel.relkind <> 'c'
     where d.objid = any(${oids}::oid[]) and d.deptype in ('n', 'a')`;
  const explicit = nodes.flatMap((node) => (node.after ?? []).map((to) => ({ from: node.id, to })));
  const all = [...edges, ...explicit];

  const late = new Set(lateFunctions.map((f) => f.id));
  const result: RoutineStatements = { early: [], late: [] };
  // In dependency order, whatever a node uses has been judged before it.
  for (const node of dependencyOrder(nodes, (node) => node.id, all)) {
    const uses = all.filter((edge) => edge.from === node.id).map((edge) => edge.to);
    if (uses.some((id) => id.startsWith("r") || late.has(id))) {
      late.add(node.id);
      result.late.push(node);
    } else {
      result.early.push(node.statement);
    }
  }
  return result;
}
