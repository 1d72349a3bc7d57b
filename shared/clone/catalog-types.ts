/**
 * Enums, domains, composite and range types of the cloned schemas, in dependency order. A range
 * whose subtype_diff, canonical function or subtype operator class is the clone's own must wait
 * for it, and so must every type built on such a range: those are `routineTypes`, sorted with
 * the functions in the schema phase (see catalog-routine-order).
 */
import {
  type CatalogRead,
  type DdlStatement,
  dependencyOrder,
  type NamedRow,
  type PlanNode,
} from "./catalog-read.ts";
import { qualifiedName, quoteIdent, quoteLiteral } from "./sql-text.ts";

export interface TypeStatements {
  types: DdlStatement[];
  /** Types that need a cloned function or operator class; their ids are "t" + pg_type oid. */
  routineTypes: PlanNode[];
  /** Domain checks that call functions or operators can only be added once those exist (schema phase). */
  domainChecksAfterFunctions: DdlStatement[];
  /** Domain checks added NOT VALID: rows the source never checked would fail them in the copy (post_data). */
  domainChecksAfterData: DdlStatement[];
}

export async function readTypes({ tx, schemas }: CatalogRead): Promise<TypeStatements> {
  const types = await tx<NamedRow[]>`
    select t.oid, n.nspname as schema, t.typname as name, t.typtype as kind,
           format_type(t.typbasetype, t.typtypmod) as base_type, t.typnotnull as not_null,
           pg_get_expr(t.typdefaultbin, 0) as default_expr,
           case when t.typcollation <> 0 and t.typcollation <> bt.typcollation then
             (select format('%I.%I', cn.nspname, co.collname) from pg_collation co
                join pg_namespace cn on cn.oid = co.collnamespace where co.oid = t.typcollation) end as collation,
           (select array_agg(e.enumlabel::text order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid) as labels,
           (select json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                   'collation', case when a.attcollation <> at.typcollation then
                     (select format('%I.%I', cn.nspname, co.collname) from pg_collation co
                        join pg_namespace cn on cn.oid = co.collnamespace where co.oid = a.attcollation) end)
                   order by a.attnum)
              from pg_attribute a join pg_type at on at.oid = a.atttypid
             where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped) as attributes,
           (select json_agg(json_build_object('name', c.conname, 'def', pg_get_constraintdef(c.oid),
                   'validated', c.convalidated,
                   'callsFunction', exists (select from pg_depend d where d.classid = 'pg_constraint'::regclass
                     and d.objid = c.oid and d.refclassid in ('pg_proc'::regclass, 'pg_operator'::regclass)))
                   order by c.conname)
              from pg_constraint c where c.contypid = t.oid and c.contype = 'c') as checks,
           format_type(r.rngsubtype, null) as subtype,
           case when r.rngsubopc <> (select o.oid from pg_opclass o join pg_am am on am.oid = o.opcmethod
                                      where am.amname = 'btree' and o.opcintype = r.rngsubtype and o.opcdefault)
                then (select format('%I.%I', on_.nspname, o.opcname) from pg_opclass o
                        join pg_namespace on_ on on_.oid = o.opcnamespace where o.oid = r.rngsubopc) end as subtype_opclass,
           case when r.rngsubdiff <> 0 then r.rngsubdiff::regproc::text end as subtype_diff,
           case when r.rngcanonical <> 0 then r.rngcanonical::regproc::text end as canonical,
           (select format('%I.%I', mn.nspname, m.typname) from pg_type m
              join pg_namespace mn on mn.oid = m.typnamespace where m.oid = r.rngmultitypid) as multirange,
           -- Pinned (built-in) objects have no pg_depend rows; extensions exist before the types.
           exists (select from pg_depend d where d.classid = 'pg_type'::regclass and d.objid = t.oid
                    and d.refclassid in ('pg_proc'::regclass, 'pg_opclass'::regclass)
                    and not exists (select from pg_depend e where e.classid = d.refclassid
                                     and e.objid = d.refobjid and e.deptype = 'e')) as needs_routine
      from pg_type t
      join pg_namespace n on n.oid = t.typnamespace
      left join pg_type bt on bt.oid = t.typbasetype
      left join pg_range r on r.rngtypid = t.oid
     where n.nspname = any(${schemas}::text[])
       and (t.typtype in ('e', 'd', 'r')
            or (t.typtype = 'c' and (select c.relkind from pg_class c where c.oid = t.typrelid) = 'c'))
       and not exists (select from pg_depend e where e.deptype = 'e'
                        and ((e.classid = 'pg_type'::regclass and e.objid = t.oid)
                             or (e.classid = 'pg_class'::regclass and e.objid = t.typrelid and t.typrelid <> 0)))
     order by n.nspname, t.typname`;

  // What each type is built from: a domain's base, a range's subtype, a composite's attributes
  // (arrays count as their element type).
  const edges = await tx<{ from: string; to: string }[]>`
    with uses as (
      select t.oid, t.typbasetype as used from pg_type t where t.typtype = 'd'
      union all select r.rngtypid, r.rngsubtype from pg_range r
      union all select t.oid, a.atttypid from pg_type t
        join pg_attribute a on a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped
       where t.typtype = 'c')
    select uses.oid::text as "from", (case when u.typcategory = 'A' and u.typelem <> 0 then u.typelem else u.oid end)::text as "to"
      from uses join pg_type u on u.oid = uses.used
      join pg_type t on t.oid = uses.oid join pg_namespace n on n.oid = t.typnamespace
     where n.nspname = any(${schemas}::text[])`;

  const statements: DdlStatement[] = [];
  const routineTypes: PlanNode[] = [];
  const domainChecksAfterFunctions: DdlStatement[] = [];
  const domainChecksAfterData: DdlStatement[] = [];
  const waits = new Set<string>();
  for (const t of dependencyOrder([...types], (t) => String(t.oid), edges)) {
    const name = qualifiedName(t);
    const key = `type:${t.schema}.${t.name}`;
    // Types come in dependency order, so whatever a type is built from has been placed already.
    const waitsForRoutine = t.needs_routine ||
      edges.some((edge) => edge.from === String(t.oid) && waits.has(edge.to));
    if (waitsForRoutine) waits.add(String(t.oid));
    const add = (statement: DdlStatement) =>
      waitsForRoutine ? routineTypes.push({ id: `t${t.oid}`, statement }) : statements.push(statement);
    switch (t.kind) {
      case "e":
        add({
          key,
          sql: `create type ${name} as enum (${(t.labels ?? []).map(quoteLiteral).join(", ")})`,
          drop: `drop type if exists ${name} cascade`,
        });
        break;
      case "c": {
        const attributes = (t.attributes ?? []).map((
          a: { name: string; type: string; collation: string | null },
        ) => `${quoteIdent(a.name)} ${a.type}${a.collation ? ` collate ${a.collation}` : ""}`);
        add({
          key,
          sql: `create type ${name} as (${attributes.join(", ")})`,
          drop: `drop type if exists ${name} cascade`,
        });
        break;
      }
      case "r": {
        const options = [`subtype = ${t.subtype}`];
        if (t.subtype_opclass) options.push(`subtype_opclass = ${t.subtype_opclass}`);
        if (t.collation) options.push(`collation = ${t.collation}`);
        if (t.canonical) options.push(`canonical = ${t.canonical}`);
        if (t.subtype_diff) options.push(`subtype_diff = ${t.subtype_diff}`);
        if (t.multirange) options.push(`multirange_type_name = ${t.multirange}`);
        add({
          key,
          sql: `create type ${name} as range (${options.join(", ")})`,
          drop: `drop type if exists ${name} cascade`,
        });
        break;
      }
      case "d": {
        let sql = `create domain ${name} as ${t.base_type}`;
        if (t.collation) sql += ` collate ${t.collation}`;
        if (t.default_expr !== null) sql += ` default ${t.default_expr}`;
        if (t.not_null) sql += " not null";
        for (const check of t.checks ?? []) {
          // pg_get_constraintdef ends a check that is not validated with NOT VALID.
          const statement = `constraint ${quoteIdent(check.name)} ${check.def}`;
          if (check.validated && !check.callsFunction) {
            sql += ` ${statement}`;
            continue;
          }
          // NOT VALID cannot be said in CREATE DOMAIN, and a function must exist before a check calls it.
          (check.validated ? domainChecksAfterFunctions : domainChecksAfterData).push({
            key: `domain-check:${t.schema}.${t.name}.${check.name}`,
            sql: `alter domain ${name} add ${statement}`,
          });
        }
        add({ key, sql, drop: `drop domain if exists ${name} cascade` });
        break;
      }
    }
  }
  return { types: statements, routineTypes, domainChecksAfterFunctions, domainChecksAfterData };
}
