/** What every catalog reader takes and gives back, and the helpers they share. */
import type { TransactionSql } from "../db/client.ts";
import { quoteIdent, quoteLiteral } from "./sql-text.ts";

export interface DdlStatement {
  /** Stable and unique within a plan, e.g. "table:public.orders". */
  key: string;
  /** One statement, schema-qualified, identifiers quoted. */
  sql: string;
  /** Removes what `sql` created, for a restart; never fails when the object is already gone. */
  drop?: string;
  /**
   * Set only on a statement that may run in a parallel session (index, key and foreign key
   * builds): every table it locks, each as `qualifiedName` prints it. See phase-statements.ts.
   */
  tables?: string[];
  /** What the target must allow for it: checked at `start` (target-hosting.ts), before any job exists. */
  requires?: TargetRequirement;
}

/**
 * Something a statement needs of the target beyond an ordinary database owner's rights. A target
 * that cannot give it refuses the clone when a cloned object depends on it (`neededBy`), else
 * the statement is skipped and the job lists it as a warning.
 */
export interface TargetRequirement {
  /** The object as a refusal or warning names it, e.g. `extension pg_cron`. */
  object: string;
  need:
    | { kind: "extension"; name: string; schema: string }
    | { kind: "superuser" }
    | { kind: "event_trigger" }
    | { kind: "label_provider"; provider: string };
  /** Cloned objects that cannot exist without it (a few, named); empty: the clone can do without. */
  neededBy: string[];
}

/** One object of a plan that the target cannot host, and why (target-hosting.ts). */
export interface HostingFinding {
  object: string;
  /** The target's own answer, e.g. "can only create extension in database postgres". */
  reason: string;
  /** Cloned objects that depend on it; empty for a skipped one. */
  neededBy: string[];
}

/**
 * A statement in a dependency sort. `id` is a one-letter catalog tag and the oid of what it
 * creates: f = pg_proc, r = pg_class, t = pg_type, o = pg_operator, F = pg_opfamily,
 * c = pg_opclass, k = pg_cast. `after` names nodes pg_depend does not link it to directly (an
 * operator class waits for the operators of its members).
 */
export interface PlanNode {
  id: string;
  statement: DdlStatement;
  after?: string[];
}

/**
 * A read-only snapshot of the source with `search_path = ''`, so every name the pg_get_* functions
 * print comes out schema-qualified.
 */
export interface CatalogRead {
  tx: TransactionSql;
  schemas: string[];
}

/** A catalog row naming an object; the other columns are whatever the query selected. */
// deno-lint-ignore no-explicit-any
export type NamedRow = { schema: string; name: string; [column: string]: any };

/** ` with (fillfactor='70', ...)` from pg_class.reloptions, or nothing. */
export function withOptions(reloptions: string[] | null): string {
  if (!reloptions?.length) return "";
  const pairs = reloptions.map((option) => {
    const at = option.indexOf("=");
    return `${quoteIdent(option.slice(0, at))}=${quoteLiteral(option.slice(at + 1))}`;
  });
  return ` with (${pairs.join(", ")})`;
}

/**
 * Orders `nodes` so each comes after the nodes it depends on; ties keep the input order, so the
 * result is stable. A cycle cannot be resolved by ordering: its members follow in input order and
 * the failing statement will say which objects are involved.
 */
export function dependencyOrder<T>(
  nodes: T[],
  idOf: (node: T) => string,
  edges: { from: string; to: string }[],
): T[] {
  const index = new Map(nodes.map((node, i) => [idOf(node), i]));
  const waitingOn = nodes.map(() => new Set<number>());
  const dependents = nodes.map(() => [] as number[]);
  for (const { from, to } of edges) {
    const a = index.get(from);
    const b = index.get(to);
    if (a === undefined || b === undefined || a === b || waitingOn[a].has(b)) continue;
    waitingOn[a].add(b);
    dependents[b].push(a);
  }
  const placed = new Array<boolean>(nodes.length).fill(false);
  const result: T[] = [];
  const ready = nodes.map((_, i) => i).filter((i) => waitingOn[i].size === 0);
  while (result.length < nodes.length) {
    if (ready.length === 0) {
      // A cycle: release the first unplaced node and carry on.
      ready.push(placed.findIndex((done) => !done));
    }
    ready.sort((a, b) => a - b);
    const next = ready.shift()!;
    if (placed[next]) continue;
    placed[next] = true;
    result.push(nodes[next]);
    for (const dependent of dependents[next]) {
      waitingOn[dependent].delete(next);
      if (waitingOn[dependent].size === 0 && !placed[dependent]) ready.push(dependent);
    }
  }
  return result;
}

/**
 * The body of a `cloned (classid, objid)` CTE: every object the clone makes, as pg_depend names
 * them, for the readers that follow pg_depend from them (the extensions and the outside objects
 * they use). The enclosing query defines `ns` as the oids of the cloned schemas.
 */
export function clonedObjects(tx: TransactionSql) {
  return tx`
      select 'pg_class'::regclass, c.oid from pg_class c where c.relnamespace in (select oid from ns)
      union all select 'pg_type'::regclass, t.oid from pg_type t where t.typnamespace in (select oid from ns)
      union all select 'pg_proc'::regclass, p.oid from pg_proc p where p.pronamespace in (select oid from ns)
      union all select 'pg_operator'::regclass, o.oid from pg_operator o where o.oprnamespace in (select oid from ns)
      union all select 'pg_opclass'::regclass, c.oid from pg_opclass c where c.opcnamespace in (select oid from ns)
      union all select 'pg_opfamily'::regclass, f.oid from pg_opfamily f where f.opfnamespace in (select oid from ns)
      union all select 'pg_collation'::regclass, c.oid from pg_collation c where c.collnamespace in (select oid from ns)
      union all select 'pg_ts_dict'::regclass, d.oid from pg_ts_dict d where d.dictnamespace in (select oid from ns)
      union all select 'pg_ts_config'::regclass, c.oid from pg_ts_config c where c.cfgnamespace in (select oid from ns)
      union all select 'pg_cast'::regclass, c.oid from pg_cast c
       where exists (select from pg_type t where t.oid in (c.castsource, c.casttarget) and t.typnamespace in (select oid from ns))
          or exists (select from pg_proc p where p.oid = c.castfunc and p.pronamespace in (select oid from ns))
      union all select 'pg_constraint'::regclass, co.oid from pg_constraint co where co.connamespace in (select oid from ns)
      union all select 'pg_attrdef'::regclass, d.oid from pg_attrdef d
        join pg_class c on c.oid = d.adrelid where c.relnamespace in (select oid from ns)
      union all select 'pg_trigger'::regclass, tg.oid from pg_trigger tg
        join pg_class c on c.oid = tg.tgrelid where c.relnamespace in (select oid from ns)
      union all select 'pg_rewrite'::regclass, r.oid from pg_rewrite r
        join pg_class c on c.oid = r.ev_class where c.relnamespace in (select oid from ns)
      union all select 'pg_policy'::regclass, p.oid from pg_policy p
        join pg_class c on c.oid = p.polrelid where c.relnamespace in (select oid from ns)
      -- Servers are not in a schema; the clone makes those its foreign tables use.
      union all select 'pg_foreign_server'::regclass, ft.ftserver from pg_foreign_table ft
        join pg_class c on c.oid = ft.ftrelid where c.relnamespace in (select oid from ns)`;
}
