/**
 * Casts that involve the clone: from or to a type of a cloned schema, or through one of its
 * functions. pg_dump leaves casts out of a dump restricted to schemas (-n), which is why the clone
 * reads them itself: without them the target's queries resolve differently. They follow their
 * types and function in the schema phase (see catalog-routine-order).
 */
import type { CatalogRead, DdlStatement, PlanNode } from "./catalog-read.ts";
import { quoteLiteral } from "./sql-text.ts";

const CONTEXT: Record<string, string> = { a: " as assignment", i: " as implicit", e: "" };

export interface CastStatements {
  create: PlanNode[];
  /** Comments on them, for post-data (catalog-comments goes by schema, and a cast has none). */
  comments: DdlStatement[];
}

export async function readCasts({ tx, schemas }: CatalogRead): Promise<CastStatements> {
  // An array type counts as its element's schema; regprocedure names the function with its arguments.
  const casts = await tx`
    with ns as (select oid from pg_namespace where nspname = any(${schemas}::text[]))
    select c.oid, format_type(c.castsource, null) as source, format_type(c.casttarget, null) as target,
           c.castmethod as method, c.castcontext as context, nullif(c.castfunc, 0)::regprocedure::text as function,
           obj_description(c.oid, 'pg_cast') as comment
      from pg_cast c
      left join pg_proc p on p.oid = c.castfunc
     -- Built-in casts (below FirstNormalObjectId) are every database's; a multirange's cast is its
     -- range type's own (an internal dependency).
     where c.oid >= 16384
       and not exists (select from pg_depend e where e.classid = 'pg_cast'::regclass and e.objid = c.oid and e.deptype in ('e', 'i'))
       and (p.pronamespace in (select oid from ns)
            or exists (select from pg_type t left join pg_type element on element.oid = t.typelem and t.typcategory = 'A'
                        where t.oid in (c.castsource, c.casttarget)
                          and coalesce(element.typnamespace, t.typnamespace) in (select oid from ns)))
     order by 2, 3`;

  const result: CastStatements = { create: [], comments: [] };
  for (const c of casts) {
    const pair = `(${c.source} as ${c.target})`;
    const how = c.method === "f"
      ? `with function ${c.function}`
      : c.method === "i"
      ? "with inout"
      : "without function";
    result.create.push({
      id: `k${c.oid}`,
      statement: {
        key: `cast:${c.source}->${c.target}`,
        sql: `create cast ${pair} ${how}${CONTEXT[c.context]}`,
        drop: `drop cast if exists ${pair} cascade`,
      },
    });
    if (c.comment !== null) {
      result.comments.push({
        key: `comment:cast ${pair}`,
        sql: `comment on cast ${pair} is ${quoteLiteral(c.comment)}`,
      });
    }
  }
  return result;
}
