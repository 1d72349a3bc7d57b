/**
 * What a plan would create that the target already has. Relations and types share one name space
 * (a table brings a row type of its own name); functions and aggregates are told apart by their
 * arguments, operators by their operand types. Collations and text search objects have their own;
 * servers, wrappers, publications and event triggers belong to the database, named by kind.
 */
import type { Sql } from "../db/client.ts";
import type { ClonePlan } from "./schema-plan.ts";

const RELATION_LIKE = new Set(["table", "foreign-table", "view", "matview", "sequence", "index", "type"]);
/** Plan key kinds that are looked up under their own kind. */
const OWN_KIND = new Set([
  "function",
  "operator",
  "collation",
  "text-search-dictionary",
  "text-search-configuration",
  "text-search-parser",
  "text-search-template",
]);
/** Objects of the whole database, outside any schema, by name. */
const DATABASE_WIDE = new Set(["server", "publication", "event-trigger", "foreign-data-wrapper"]);

/** Names (schema.name, schema.name(args) for functions, `server name`...) the target already has; [] = clean. */
export async function findConflicts(target: Sql, plan: ClonePlan): Promise<string[]> {
  const wanted = new Set<string>();
  for (const { key } of [...plan.types, ...plan.schema, ...plan.postData]) {
    const at = key.indexOf(":");
    const kind = key.slice(0, at);
    if (RELATION_LIKE.has(kind)) wanted.add(`relation:${key.slice(at + 1)}`);
    else if (kind === "aggregate") wanted.add(`function:${key.slice(at + 1)}`);
    else if (OWN_KIND.has(kind) || DATABASE_WIDE.has(kind)) wanted.add(key);
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
      select 'operator', ns.nspname || '.' || o.oprname || '(' || coalesce(format_type(nullif(o.oprleft, 0), null), 'none')
             || ', ' || coalesce(format_type(nullif(o.oprright, 0), null), 'none') || ')'
        from pg_operator o join ns on ns.oid = o.oprnamespace
      union
      select 'collation', ns.nspname || '.' || c.collname from pg_collation c join ns on ns.oid = c.collnamespace
      union
      select 'text-search-dictionary', ns.nspname || '.' || d.dictname from pg_ts_dict d join ns on ns.oid = d.dictnamespace
      union
      select 'text-search-configuration', ns.nspname || '.' || c.cfgname
        from pg_ts_config c join ns on ns.oid = c.cfgnamespace
      union
      select 'text-search-parser', ns.nspname || '.' || p.prsname from pg_ts_parser p join ns on ns.oid = p.prsnamespace
      union
      select 'text-search-template', ns.nspname || '.' || t.tmplname
        from pg_ts_template t join ns on ns.oid = t.tmplnamespace
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
