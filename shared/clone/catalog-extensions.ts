/**
 * The start of the `types` phase: the cloned schemas, and the extensions of the cloned schemas —
 * those installed in one and those whose objects a cloned object uses (a column of type citext, a
 * default calling extensions.uuid_generate_v4(), an index on gin_trgm_ops, a text search dictionary
 * on unaccent's template, a foreign table's server on postgres_fdw...). Each names the cloned
 * objects that use it: an extension nothing uses is skipped where the target cannot have it.
 * pg_cron is one: `create extension pg_cron` without `with schema` records the first schema on the
 * search_path (public) as its schema, though its objects live in `cron`, and only the database
 * named by cron.database_name may have it.
 */
import { type CatalogRead, clonedObjects, type DdlStatement } from "./catalog-read.ts";
import { quoteIdent } from "./sql-text.ts";

export async function readSchemasAndExtensions({ tx, schemas }: CatalogRead): Promise<DdlStatement[]> {
  const extensions = await tx`
    with ns as (select oid from pg_namespace where nspname = any(${schemas}::text[])),
    cloned (classid, objid) as (
${clonedObjects(tx)}),
    used as (
      select member.refobjid as extension, pg_describe_object(cloned.classid, cloned.objid, 0) as user_object
        from cloned
        join pg_depend d on d.classid = cloned.classid and d.objid = cloned.objid and d.deptype in ('n', 'a')
        join pg_depend member on member.classid = d.refclassid and member.objid = d.refobjid
                             and member.deptype = 'e' and member.refclassid = 'pg_extension'::regclass
       -- An extension's own objects in a cloned schema use each other; they are not the clone's.
       where not exists (select from pg_depend own where own.classid = cloned.classid and own.objid = cloned.objid
                                                      and own.deptype = 'e'))
    select e.extname as name, n.nspname as schema,
           coalesce((select array_agg(distinct u.user_object) from used u where u.extension = e.oid), '{}') as needed_by
      from pg_extension e join pg_namespace n on n.oid = e.extnamespace
     where n.nspname <> 'pg_catalog'
       and (e.extnamespace in (select oid from ns) or e.oid in (select extension from used))
     order by e.extname`;

  const statements: DdlStatement[] = [];
  const schemaNames = [...new Set([...schemas, ...extensions.map((e) => e.schema as string)])];
  for (const schema of schemaNames) {
    // Never dropped on restart: the schema may have been there before the clone (public always is).
    statements.push({ key: `schema:${schema}`, sql: `create schema if not exists ${quoteIdent(schema)}` });
  }
  for (const extension of extensions) {
    // `cascade` installs what the extension itself requires (earthdistance needs cube).
    const neededBy = extension.needed_by as string[];
    statements.push({
      key: `extension:${extension.name}`,
      sql: `create extension if not exists ${quoteIdent(extension.name)} with schema ${
        quoteIdent(extension.schema)
      } cascade`,
      requires: {
        object: `extension ${extension.name}`,
        need: { kind: "extension", name: extension.name, schema: extension.schema },
        neededBy: neededBy.length > 5 ? [...neededBy.slice(0, 5), `${neededBy.length - 5} more`] : neededBy,
      },
    });
  }
  return statements;
}
