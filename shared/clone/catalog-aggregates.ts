/**
 * Aggregates, from pg_aggregate (pg_get_functiondef refuses them): plain, moving-aggregate,
 * ordered-set and hypothetical-set, with combine/serial functions for partial aggregation. Each is
 * sorted after its support functions with the other routines in the schema phase (see
 * catalog-routine-order), so the views that call it, in post-data, find it.
 */
import type { CatalogRead, NamedRow, PlanNode } from "./catalog-read.ts";
import { qualifiedName, quoteLiteral } from "./sql-text.ts";

/** FINALFUNC_MODIFY's keywords by pg_aggregate's code. */
const MODIFY: Record<string, string> = { r: "read_only", s: "shareable", w: "read_write" };
const PARALLEL: Record<string, string> = { s: "safe", r: "restricted" };

export async function readAggregates({ tx, schemas }: CatalogRead): Promise<PlanNode[]> {
  // With search_path empty, regproc names come out schema-qualified unless built in.
  const aggregates = await tx<NamedRow[]>`
    select p.oid, n.nspname as schema, p.proname as name, p.proparallel as parallel,
           pg_get_function_arguments(p.oid) as args, pg_get_function_identity_arguments(p.oid) as identity_args,
           a.aggkind as kind, a.aggfinalextra as final_extra, a.aggmfinalextra as mfinal_extra,
           a.aggfinalmodify as final_modify, a.aggmfinalmodify as mfinal_modify,
           a.aggtransfn::regproc::text as sfunc, format_type(a.aggtranstype, null) as stype,
           nullif(a.aggtransspace, 0) as sspace, nullif(a.aggfinalfn, 0)::regproc::text as finalfunc,
           nullif(a.aggcombinefn, 0)::regproc::text as combinefunc,
           nullif(a.aggserialfn, 0)::regproc::text as serialfunc,
           nullif(a.aggdeserialfn, 0)::regproc::text as deserialfunc, a.agginitval as initcond,
           nullif(a.aggmtransfn, 0)::regproc::text as msfunc, nullif(a.aggminvtransfn, 0)::regproc::text as minvfunc,
           case when a.aggmtranstype <> 0 then format_type(a.aggmtranstype, null) end as mstype,
           nullif(a.aggmtransspace, 0) as msspace, nullif(a.aggmfinalfn, 0)::regproc::text as mfinalfunc,
           a.aggminitval as minitcond,
           (select format('operator(%I.%s)', opn.nspname, o.oprname) from pg_operator o
              join pg_namespace opn on opn.oid = o.oprnamespace where o.oid = a.aggsortop) as sortop
      from pg_proc p join pg_aggregate a on a.aggfnoid = p.oid join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = any(${schemas}::text[]) and p.prokind = 'a'
       and not exists (select from pg_depend e where e.classid = 'pg_proc'::regclass and e.objid = p.oid and e.deptype = 'e')
     order by n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)`;

  return aggregates.map((a) => {
    const name = qualifiedName(a);
    // An aggregate over no columns, count(*)-like, is written with a star.
    const signature = (args: string) => `${name}(${args === "" ? "*" : args})`;
    return {
      id: `f${a.oid}`,
      statement: {
        key: `aggregate:${a.schema}.${a.name}(${a.identity_args})`,
        sql: `create aggregate ${signature(a.args)} (${aggregateOptions(a).join(", ")})`,
        drop: `drop aggregate if exists ${signature(a.identity_args)} cascade`,
      },
    };
  });
}

function aggregateOptions(a: NamedRow): string[] {
  // An ordered-set aggregate's final function may modify its state by default; a plain one's not.
  const defaultModify = a.kind === "n" ? "r" : "w";
  const options = [`sfunc = ${a.sfunc}`, `stype = ${a.stype}`];
  if (a.sspace) options.push(`sspace = ${a.sspace}`);
  if (a.finalfunc) options.push(`finalfunc = ${a.finalfunc}`);
  if (a.final_extra) options.push("finalfunc_extra");
  if (a.finalfunc && a.final_modify !== defaultModify) {
    options.push(`finalfunc_modify = ${MODIFY[a.final_modify]}`);
  }
  if (a.combinefunc) options.push(`combinefunc = ${a.combinefunc}`);
  if (a.serialfunc) options.push(`serialfunc = ${a.serialfunc}`, `deserialfunc = ${a.deserialfunc}`);
  if (a.initcond !== null) options.push(`initcond = ${quoteLiteral(a.initcond)}`);
  if (a.msfunc) {
    options.push(`msfunc = ${a.msfunc}`, `minvfunc = ${a.minvfunc}`, `mstype = ${a.mstype}`);
  }
  if (a.msspace) options.push(`msspace = ${a.msspace}`);
  if (a.mfinalfunc) options.push(`mfinalfunc = ${a.mfinalfunc}`);
  if (a.mfinal_extra) options.push("mfinalfunc_extra");
  if (a.mfinalfunc && a.mfinal_modify !== defaultModify) {
    options.push(`mfinalfunc_modify = ${MODIFY[a.mfinal_modify]}`);
  }
  if (a.minitcond !== null) options.push(`minitcond = ${quoteLiteral(a.minitcond)}`);
  if (a.sortop) options.push(`sortop = ${a.sortop}`);
  if (PARALLEL[a.parallel]) options.push(`parallel = ${PARALLEL[a.parallel]}`);
  if (a.kind === "h") options.push("hypothetical");
  return options;
}
