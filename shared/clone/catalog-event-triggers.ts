/**
 * Event triggers that run a function of the cloned schemas. They belong to no schema and only a
 * superuser may create one on plain Postgres (hosted Supabase lets `postgres` too), so the preflight
 * tries; nothing else depends on one, so a target that refuses gets the clone without them and
 * the job lists them as warnings. Created last, as pg_dump does, so they see none of the clone's DDL.
 */
import type { CatalogRead, DdlStatement } from "./catalog-read.ts";
import { quoteIdent, quoteLiteral } from "./sql-text.ts";

const ENABLED: Record<string, string> = { D: "disable", R: "enable replica", A: "enable always" };

/** CREATE EVENT TRIGGER (and its enabled state) for each one running a cloned function. */
export async function readEventTriggers({ tx, schemas }: CatalogRead): Promise<DdlStatement[]> {
  const triggers = await tx`
    select e.evtname as name, e.evtevent as event, e.evttags as tags, e.evtenabled as enabled,
           e.evtfoid::regproc::text as function
      from pg_event_trigger e join pg_proc p on p.oid = e.evtfoid join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = any(${schemas}::text[])
       and not exists (select from pg_depend x where x.classid = 'pg_event_trigger'::regclass and x.objid = e.oid
                                                 and x.deptype = 'e')
     order by e.evtname`;
  return triggers.flatMap((t) => {
    const name = quoteIdent(t.name);
    const when = t.tags?.length ? ` when tag in (${(t.tags as string[]).map(quoteLiteral).join(", ")})` : "";
    const requires = {
      object: `event trigger ${t.name}`,
      need: { kind: "event_trigger" as const },
      neededBy: [],
    };
    const statements: DdlStatement[] = [{
      key: `event-trigger:${t.name}`,
      sql: `create event trigger ${name} on ${quoteIdent(t.event)}${when} execute function ${t.function}()`,
      drop: `drop event trigger if exists ${name}`,
      requires,
    }];
    if (ENABLED[t.enabled]) {
      statements.push({
        key: `event-trigger-enabled:${t.name}`,
        sql: `alter event trigger ${name} ${ENABLED[t.enabled]}`,
        requires,
      });
    }
    return statements;
  });
}
