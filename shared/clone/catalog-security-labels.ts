/**
 * Security labels on the cloned schemas and their objects. A label names its provider (sepgsql,
 * anon...), which the target must have loaded: the preflight tries one there. Nothing depends on
 * a label, so a target without the provider gets the clone without them, listed as warnings.
 */
import type { CatalogRead, DdlStatement } from "./catalog-read.ts";
import { quoteIdent, quoteLiteral } from "./sql-text.ts";

/** SECURITY LABEL for each label on a cloned schema or object, needing its provider on the target. */
export async function readSecurityLabels({ tx, schemas }: CatalogRead): Promise<DdlStatement[]> {
  // pg_seclabels names each object the way SECURITY LABEL takes it, schema-qualified.
  const labels = await tx`
    with ns as (select oid from pg_namespace where nspname = any(${schemas}::text[]))
    select l.provider, l.objtype as type, l.objname as name, l.label
      from pg_seclabels l
     where (l.objnamespace in (select oid from ns) or (l.objtype = 'schema' and l.objoid in (select oid from ns)))
       and l.label is not null
       and not exists (select from pg_depend x where x.classid = l.classoid and x.objid = l.objoid and x.deptype = 'e')
     order by l.provider, l.objtype, l.objname`;
  return labels.map((l) => ({
    key: `security-label:${l.provider}:${l.type} ${l.name}`,
    sql: `security label for ${quoteIdent(l.provider)} on ${l.type} ${l.name} is ${quoteLiteral(l.label)}`,
    requires: {
      object: `security label (${l.provider}) on ${l.type} ${l.name}`,
      need: { kind: "label_provider", provider: l.provider },
      neededBy: [],
    },
  }));
}
