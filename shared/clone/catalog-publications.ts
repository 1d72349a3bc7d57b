/**
 * Publications that publish cloned tables, with their membership cut down to the cloned tables
 * (column lists and row filters kept) and the cloned schemas. A publication FOR ALL TABLES is not
 * cloned: its membership cannot be limited. Adding a whole schema needs a superuser on Postgres
 * 15, so it is a statement of its own that the preflight may skip.
 */
import type { CatalogRead, DdlStatement } from "./catalog-read.ts";
import { qualifiedName, quoteIdent } from "./sql-text.ts";

interface PublishedTable {
  schema: string;
  name: string;
  columns: string[] | null;
  filter: string | null;
}

/** CREATE PUBLICATION for each publication of cloned tables, then its cloned schemas (superuser). */
export async function readPublications({ tx, schemas }: CatalogRead): Promise<DdlStatement[]> {
  const publications = await tx`
    select p.pubname as name, p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate, p.pubviaroot,
           (select json_agg(json_build_object(
                     'schema', n.nspname, 'name', c.relname,
                     'columns', (select json_agg(a.attname order by k.ord)
                                   from unnest(pr.prattrs::int2[]) with ordinality k(attnum, ord)
                                   join pg_attribute a on a.attrelid = pr.prrelid and a.attnum = k.attnum),
                     'filter', pg_get_expr(pr.prqual, pr.prrelid))
                   order by n.nspname, c.relname)
              from pg_publication_rel pr join pg_class c on c.oid = pr.prrelid
              join pg_namespace n on n.oid = c.relnamespace
             where pr.prpubid = p.oid and n.nspname = any(${schemas}::text[])) as tables,
           array(select n.nspname from pg_publication_namespace pn join pg_namespace n on n.oid = pn.pnnspid
                  where pn.pnpubid = p.oid and n.nspname = any(${schemas}::text[]) order by 1) as in_schemas
      from pg_publication p
     where not p.puballtables
     order by p.pubname`;

  const statements: DdlStatement[] = [];
  for (const p of publications) {
    const tables: PublishedTable[] = p.tables ?? [];
    const inSchemas: string[] = p.in_schemas;
    if (tables.length === 0 && inSchemas.length === 0) continue;
    const name = quoteIdent(p.name);
    const publish = [
      p.pubinsert && "insert",
      p.pubupdate && "update",
      p.pubdelete && "delete",
      p.pubtruncate && "truncate",
    ].filter(Boolean).join(", ");
    const members = tables.map((t) =>
      `${qualifiedName(t)}${t.columns ? ` (${t.columns.map(quoteIdent).join(", ")})` : ""}${
        t.filter ? ` where (${t.filter})` : ""
      }`
    );
    const bySchema = {
      object: `publication ${p.name} (tables in schema ${inSchemas.join(", ")})`,
      need: { kind: "superuser" as const },
      neededBy: [],
    };
    statements.push({
      key: `publication:${p.name}`,
      sql: `create publication ${name}${
        members.length ? ` for table ${members.join(", ")}` : ""
      } with (publish = '${publish}', publish_via_partition_root = ${p.pubviaroot})`,
      drop: `drop publication if exists ${name}`,
      // Made of whole schemas only: without them it would be an empty publication.
      ...members.length === 0 ? { requires: bySchema } : {},
    });
    for (const schema of inSchemas) {
      statements.push({
        key: `publication-schema:${p.name}:${schema}`,
        sql: `alter publication ${name} add tables in schema ${quoteIdent(schema)}`,
        requires: bySchema,
      });
    }
  }
  return statements;
}
