/**
 * Operators of the cloned schemas, sorted after their functions with the other routines in the
 * schema phase (see catalog-routine-order). A commutator or negator that does not exist yet is
 * created as a shell by the first operator naming it and filled in when its own turn comes, as
 * in a pg_dump restore.
 */
import type { CatalogRead, PlanNode } from "./catalog-read.ts";
import { quoteIdent } from "./sql-text.ts";

export async function readOperators({ tx, schemas }: CatalogRead): Promise<PlanNode[]> {
  // An operator is named as schema.op; `operator(schema.op)` where an option wants a name.
  const operators = await tx`
    select o.oid, n.nspname as schema, o.oprname as name, o.oprcanmerge as merges, o.oprcanhash as hashes,
           o.oprcode::regproc::text as function,
           case when o.oprleft <> 0 then format_type(o.oprleft, null) end as left_type,
           case when o.oprright <> 0 then format_type(o.oprright, null) end as right_type,
           (select format('operator(%I.%s)', cn.nspname, c.oprname) from pg_operator c
              join pg_namespace cn on cn.oid = c.oprnamespace where c.oid = o.oprcom) as commutator,
           (select format('operator(%I.%s)', nn.nspname, ng.oprname) from pg_operator ng
              join pg_namespace nn on nn.oid = ng.oprnamespace where ng.oid = o.oprnegate) as negator,
           nullif(o.oprrest, 0)::regproc::text as restrict, nullif(o.oprjoin, 0)::regproc::text as join
      from pg_operator o join pg_namespace n on n.oid = o.oprnamespace
     where n.nspname = any(${schemas}::text[])
       and not exists (select from pg_depend e where e.classid = 'pg_operator'::regclass and e.objid = o.oid and e.deptype = 'e')
     order by n.nspname, o.oprname, o.oprleft, o.oprright`;

  return operators.map((o) => {
    const name = `${quoteIdent(o.schema)}.${o.name}`;
    const options = [`function = ${o.function}`];
    if (o.left_type) options.push(`leftarg = ${o.left_type}`);
    if (o.right_type) options.push(`rightarg = ${o.right_type}`);
    if (o.commutator) options.push(`commutator = ${o.commutator}`);
    if (o.negator) options.push(`negator = ${o.negator}`);
    if (o.restrict) options.push(`restrict = ${o.restrict}`);
    if (o.join) options.push(`join = ${o.join}`);
    if (o.hashes) options.push("hashes");
    if (o.merges) options.push("merges");
    const args = `${o.left_type ?? "none"}, ${o.right_type ?? "none"}`;
    return {
      id: `o${o.oid}`,
      statement: {
        key: `operator:${o.schema}.${o.name}(${args})`,
        sql: `create operator ${name} (${options.join(", ")})`,
        drop: `drop operator if exists ${name} (${args}) cascade`,
      },
    };
  });
}
