/**
 * What the COPY format rule (copy-format.ts) needs to know about column types, read from the
 * source catalog: each type's domains down to its base, the base, and the base's array element.
 */
import type { CatalogRead } from "./catalog-read.ts";
import type { ColumnTypeFacts, TypeFacts } from "./copy-format.ts";

/** The facts of each type in `typeOids`, by OID. */
export async function readColumnTypeFacts(
  { tx }: CatalogRead,
  typeOids: number[],
): Promise<Map<number, ColumnTypeFacts>> {
  if (typeOids.length === 0) return new Map();
  // By pg_type's OID index only: the few types the tables use, their domains' bases, elements.
  const rows = await tx<{ oid: string; chain: TypeFacts[]; element: TypeFacts[] | null }[]>`
    with recursive chain as (
      select t.oid as column_type, t.oid, t.typbasetype, 1 as depth
        from pg_type t where t.oid = any(${typeOids}::oid[])
      union all
      select c.column_type, t.oid, t.typbasetype, c.depth + 1
        from chain c join pg_type t on t.oid = c.typbasetype)
    select c.column_type::int8 as oid,
           json_agg(fact.json order by c.depth) as chain,
           json_agg(element.json) filter (where element.json is not null) as element
      from chain c
      join pg_type t on t.oid = c.oid
      cross join lateral (
        select json_build_object('oid', x.oid::int8, 'schema', n.nspname, 'name', x.typname, 'kind', x.typtype,
                 'binaryIo', x.typsend <> 0 and x.typreceive <> 0,
                 'extension', exists (select from pg_depend d where d.classid = 'pg_type'::regclass
                                         and d.objid = x.oid and d.deptype = 'e')) as json
          from pg_type x join pg_namespace n on n.oid = x.typnamespace where x.oid = t.oid) fact
      left join lateral (
        select json_build_object('oid', x.oid::int8, 'schema', n.nspname, 'name', x.typname, 'kind', x.typtype,
                 'binaryIo', x.typsend <> 0 and x.typreceive <> 0,
                 'extension', exists (select from pg_depend d where d.classid = 'pg_type'::regclass
                                         and d.objid = x.oid and d.deptype = 'e')) as json
          from pg_type x join pg_namespace n on n.oid = x.typnamespace
         where x.oid = t.typelem and c.typbasetype = 0
           and t.typsubscript = 'pg_catalog.array_subscript_handler'::regproc) element on true
     group by c.column_type`;
  return new Map(rows.map((row) => {
    const chain = row.chain;
    const base = chain[chain.length - 1];
    return [Number(row.oid), { domains: chain.slice(0, -1), base, element: row.element?.[0] ?? null }];
  }));
}
