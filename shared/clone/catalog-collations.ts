/**
 * Collations of the cloned schemas, ICU and libc alike. They come first in the types phase:
 * domains, composite types and columns name them.
 */
import type { CatalogRead, DdlStatement, NamedRow } from "./catalog-read.ts";
import { qualifiedName, quoteLiteral } from "./sql-text.ts";

export async function readCollations({ tx, schemas }: CatalogRead): Promise<DdlStatement[]> {
  // The ICU locale column is colliculocale in 15 and colllocale from 17: to_jsonb reads either.
  const collations = await tx<NamedRow[]>`
    select n.nspname as schema, co.collname as name, co.collprovider as provider,
           co.collisdeterministic as deterministic, co.collcollate as lc_collate, co.collctype as lc_ctype,
           coalesce(to_jsonb(co) ->> 'colllocale', to_jsonb(co) ->> 'colliculocale') as locale,
           to_jsonb(co) ->> 'collicurules' as icu_rules
      from pg_collation co join pg_namespace n on n.oid = co.collnamespace
     where n.nspname = any(${schemas}::text[])
       and not exists (select from pg_depend e where e.classid = 'pg_collation'::regclass and e.objid = co.oid and e.deptype = 'e')
     order by n.nspname, co.collname`;
  return collations.map((c) => {
    const name = qualifiedName(c);
    // i = ICU, b = Postgres 17's builtin provider (both named by a locale), c = libc.
    const options = c.provider === "c"
      ? [
        "provider = libc",
        `lc_collate = ${quoteLiteral(c.lc_collate ?? "")}`,
        `lc_ctype = ${quoteLiteral(c.lc_ctype ?? "")}`,
      ]
      : [`provider = ${c.provider === "i" ? "icu" : "builtin"}`, `locale = ${quoteLiteral(c.locale ?? "")}`];
    if (c.icu_rules) options.push(`rules = ${quoteLiteral(c.icu_rules)}`);
    if (!c.deterministic) options.push("deterministic = false");
    return {
      key: `collation:${c.schema}.${c.name}`,
      sql: `create collation ${name} (${options.join(", ")})`,
      drop: `drop collation if exists ${name} cascade`,
    };
  });
}
