/**
 * What a plan would create that the target already has. Relations and types share one name space
 * (a table brings a row type of its own name); functions are told apart by their arguments;
 * servers, wrappers, publications and event triggers belong to the database, named by kind.
 */
import type { Sql } from "../db/client.ts";
import type { ClonePlan } from "./schema-plan.ts";

const RELATION_LIKE = new Set(["table", "foreign-table", "view", "matview", "sequence", "index", "type"]);
/** Objects of the whole database, outside any schema, by name. */
const DATABASE_WIDE = new Set(["server", "publication", "event-trigger", "foreign-data-wrapper"]);

/** Names (schema.name, schema.name(args) for functions, `server name`...) the target already has; [] = clean. */
export async function findConflicts(target: Sql, plan: ClonePlan): Promise<string[]> {
  const wanted = new Set<string>();
  for (const { key } of [...plan.types, ...plan.schema, ...plan.postData]) {
    const at = key.indexOf(":");
    const kind = key.slice(0, at);
    if (RELATION_LIKE.has(kind)) wanted.add(`relation:${key.slice(at + 1)}`);
    else if (kind === "function" || DATABASE_WIDE.has(kind)) wanted.add(key);
  }
  // Identity sequences have no statement of their own: their table creates them.
  for (const sequence of plan.sequences) wanted.add(`relation:${sequence.schema}.${sequence.name}`);

  const existing = await target.begin("read only", async (tx) => {
    // The same formatting as on the source: argument types come out schema-qualified.
    await tx`select set_config('search_path', '', true)`;
    return await tx`
      with ns as (select oid, nspname from pg_namespace where nspname = any(${plan.schemas}::text[]))
      select 'relation' as kind, ns.nspname || '.' || c.relname as name
        from pg_class c join ns on ns.oid = c.relnamespace
      union
      select 'relation', ns.nspname || '.' || t.typname
        from pg_type t join ns on ns.oid = t.typnamespace
       where not (t.typcategory = 'A' and t.typelem <> 0)
      union
      select 'function', ns.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
        from pg_proc p join ns on ns.oid = p.pronamespace
      union
      select 'server', srvname from pg_foreign_server
      union
      select 'foreign-data-wrapper', fdwname from pg_foreign_data_wrapper
      union
      select 'publication', pubname from pg_publication
      union
      select 'event-trigger', evtname from pg_event_trigger`;
  });
  return existing
    .filter((row) => wanted.has(`${row.kind}:${row.name}`))
    .map((row) => DATABASE_WIDE.has(row.kind) ? `${row.kind} ${row.name}` : row.name as string)
    .sort();
}
