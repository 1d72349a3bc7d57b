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
  const rows = await tx<{ oid: number; chain: TypeFacts[]; element: TypeFacts | null }[]>`
    with recursive facts as (
      select t.oid, t.typbasetype, t.typelem, t.typsubscript = 'pg_catalog.array_subscript_handler'::regproc as is_array,
             json_build_object(
               'oid', t.oid::int8, 'schema', n.nspname, 'name', t.typname, 'kind', t.typtype,
               'binaryIo', t.typsend <> 0 and t.typreceive <> 0,
               'extension', exists (select from pg_depend e where e.classid = 'pg_type'::regclass
                                       and e.objid = t.oid and e.deptype = 'e')) as fact
        from pg_type t join pg_namespace n on n.oid = t.typnamespace),
    chain as (
      select f.oid as column_type, f.oid, f.typbasetype, 1 as depth from facts f where f.oid = any(${typeOids}::oid[])
      union all
      select c.column_type, f.oid, f.typbasetype, c.depth + 1
        from chain c join facts f on f.oid = c.typbasetype where c.typbasetype <> 0)
    select c.column_type::int8 as oid,
           json_agg(f.fact order by c.depth) as chain,
           (select e.fact from facts e where e.oid = base.typelem and base.is_array) as element
      from chain c join facts f on f.oid = c.oid
      join lateral (select b.typelem, b.is_array from chain bc join facts b on b.oid = bc.oid
                     where bc.column_type = c.column_type and bc.typbasetype = 0) base on true
     group by c.column_type, base.typelem, base.is_array`;
  return new Map(rows.map((row) => {
    const chain = row.chain;
    return [Number(row.oid), {
      domains: chain.slice(0, -1),
      base: chain[chain.length - 1],
      element: row.element,
    }];
  }));
}
