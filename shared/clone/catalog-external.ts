/**
 * What cloned objects use outside the cloned schemas, other than extensions (catalog-extensions.ts)
 * and the built-ins: a trigger calling engine.touch_updated_at(), a foreign key to auth.users, a
 * policy calling auth.uid(), an index on asset_admin.object_of(...). The clone does not make them
 * (pg_dump -n does not either), so the target must already have them; the preflight looks each up
 * there by its catalog address and refuses a target that lacks one.
 */
import { type CatalogRead, clonedObjects } from "./catalog-read.ts";

/** An object outside the cloned schemas that cloned objects need, as pg_get_object_address takes it. */
export interface ExternalDependency {
  /** pg_describe_object's words, e.g. `function engine.touch_updated_at()`. */
  object: string;
  address: { type: string; names: string[]; args: string[] };
  /** The cloned objects that use it (a few, named). */
  neededBy: string[];
}

/** What cloned objects use outside the cloned schemas, with its catalog address and its users. */
export async function readExternalDependencies({ tx, schemas }: CatalogRead): Promise<ExternalDependency[]> {
  const rows = await tx`
    with ns as (select oid from pg_namespace where nspname = any(${schemas}::text[])),
    cloned (classid, objid) as (
${clonedObjects(tx)}),
    used as (
      select d.refclassid, d.refobjid, pg_describe_object(cloned.classid, cloned.objid, 0) as user_object
        from cloned join pg_depend d on d.classid = cloned.classid and d.objid = cloned.objid and d.deptype in ('n', 'a')
       where d.refobjid >= 16384 -- FirstNormalObjectId: the built-ins are on every server
         and not exists (select from pg_depend own where own.classid = cloned.classid and own.objid = cloned.objid
                                                      and own.deptype = 'e')
         and not exists (select from pg_depend member where member.classid = d.refclassid and member.objid = d.refobjid
                                                         and member.deptype = 'e')),
    outside as (
      select u.refclassid, u.refobjid, array_agg(distinct u.user_object order by u.user_object) as needed_by
        from used u, pg_identify_object(u.refclassid, u.refobjid, 0) o
       where o.schema is not null and o.schema <> all(${schemas}::text[])
         -- A key index comes with its constraint, a row type with its table.
         and o.type not in ('index', 'composite type')
       group by u.refclassid, u.refobjid)
    select pg_describe_object(x.refclassid, x.refobjid, 0) as object, a.type, a.object_names as names,
           a.object_args as args, x.needed_by
      from outside x, pg_identify_object_as_address(x.refclassid, x.refobjid, 0) a
     order by 1`;
  return rows.map((row) => {
    const neededBy = row.needed_by as string[];
    return {
      object: row.object,
      address: { type: row.type, names: row.names, args: row.args },
      neededBy: neededBy.length > 3 ? [...neededBy.slice(0, 3), `${neededBy.length - 3} more`] : neededBy,
    };
  });
}
