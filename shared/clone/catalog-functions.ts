/**
 * Functions and procedures, from pg_get_functiondef. Most are created before the tables (defaults,
 * generated columns and checks call them; their bodies are not checked because the executor turns
 * check_function_bodies off). Two kinds cannot be: a function whose signature names a table or
 * view row type, and a `begin atomic` body, which is parsed at creation. Those are "late": they
 * are ordered together with the views in post-data.
 */
import type { CatalogRead, DdlStatement, PlanNode } from "./catalog-read.ts";
import { quoteIdent } from "./sql-text.ts";

/** A function in the view/function dependency sort; its id is "f" + its pg_proc oid. */
export type LateFunction = PlanNode;

export async function readFunctions(
  { tx, schemas }: CatalogRead,
): Promise<{ early: PlanNode[]; late: LateFunction[] }> {
  const functions = await tx`
    select p.oid, n.nspname as schema, p.proname as name, p.prokind as kind,
           pg_get_function_identity_arguments(p.oid) as args, pg_get_functiondef(p.oid) as def,
           p.prosqlbody is not null or exists (
             select from pg_depend d
               join pg_type t on t.oid = d.refobjid
               left join pg_type element on element.oid = t.typelem and t.typcategory = 'A'
               join pg_class c on c.oid = case when t.typrelid <> 0 then t.typrelid else element.typrelid end
              where d.classid = 'pg_proc'::regclass and d.objid = p.oid
                and d.refclassid = 'pg_type'::regclass and c.relkind <> 'c') as late
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = any(${schemas}::text[])
       and p.prokind in ('f', 'p', 'w')
       -- Extension members, and a range type's constructors (made by CREATE TYPE itself).
       and not exists (select from pg_depend e where e.classid = 'pg_proc'::regclass and e.objid = p.oid and e.deptype in ('e', 'i'))
     order by n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)`;

  const early: PlanNode[] = [];
  const late: LateFunction[] = [];
  for (const f of functions) {
    const signature = `${quoteIdent(f.schema)}.${quoteIdent(f.name)}(${f.args})`;
    const statement: DdlStatement = {
      key: `function:${f.schema}.${f.name}(${f.args})`,
      sql: f.def,
      drop: `drop ${f.kind === "p" ? "procedure" : "function"} if exists ${signature} cascade`,
    };
    (f.late ? late : early).push({ id: `f${f.oid}`, statement });
  }
  return { early, late };
}
