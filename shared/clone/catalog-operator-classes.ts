/**
 * Operator families and classes of the cloned schemas. Every family is created explicitly (also
 * the one CREATE OPERATOR CLASS would make implicitly), then each class in its family with the
 * members bound to it, then the family's loose members (ALTER OPERATOR FAMILY ... ADD) — the
 * members pg_depend ties to the class or to the family, as pg_dump tells them apart. They follow
 * their operators and support functions in the schema phase (see catalog-routine-order). Only a
 * superuser may create either (see catalog-superuser).
 */
import type { CatalogRead, NamedRow, PlanNode } from "./catalog-read.ts";
import { qualifiedName } from "./sql-text.ts";

interface Member {
  /** `operator 1 "public".~<~(public.dimensions, public.dimensions)` or `function 1 (...) f(...)` */
  item: string;
  /** The class it belongs to, or null for a loose family member. */
  opclass: number | null;
  /** Node ids of the operator or function it names (and an order-by operator's sort family). */
  uses: string[];
}

export async function readOperatorClasses({ tx, schemas }: CatalogRead): Promise<PlanNode[]> {
  const families = await tx<NamedRow[]>`
    select f.oid, n.nspname as schema, f.opfname as name, am.amname as method
      from pg_opfamily f join pg_namespace n on n.oid = f.opfnamespace join pg_am am on am.oid = f.opfmethod
     where n.nspname = any(${schemas}::text[])
       and not exists (select from pg_depend e where e.classid = 'pg_opfamily'::regclass and e.objid = f.oid and e.deptype = 'e')
     order by n.nspname, f.opfname, am.amname`;
  const classes = await tx<NamedRow[]>`
    select c.oid, n.nspname as schema, c.opcname as name, am.amname as method, c.opcdefault as is_default,
           format_type(c.opcintype, null) as input_type, c.opcfamily as family,
           format('%I.%I', fn.nspname, f.opfname) as family_name,
           case when c.opckeytype <> 0 then format_type(c.opckeytype, null) end as storage
      from pg_opclass c join pg_namespace n on n.oid = c.opcnamespace join pg_am am on am.oid = c.opcmethod
      join pg_opfamily f on f.oid = c.opcfamily join pg_namespace fn on fn.oid = f.opfnamespace
     where n.nspname = any(${schemas}::text[])
       and not exists (select from pg_depend e where e.classid = 'pg_opclass'::regclass and e.objid = c.oid and e.deptype = 'e')
     order by n.nspname, c.opcname, am.amname`;
  // The members of the families read above; regprocedure names the function with its arguments.
  const members = await tx<(Member & { family: number })[]>`
    select * from (
      select m.amopfamily as family, m.amopstrategy as number,
             format('operator %s %I.%s(%s, %s)', m.amopstrategy, opn.nspname, o.oprname,
                    format_type(m.amoplefttype, null), format_type(m.amoprighttype, null))
               || case when m.amoppurpose = 'o' then (select format(' for order by %I.%I', sn.nspname, s.opfname)
                    from pg_opfamily s join pg_namespace sn on sn.oid = s.opfnamespace where s.oid = m.amopsortfamily)
                  else '' end as item,
             (select d.refobjid from pg_depend d where d.classid = 'pg_amop'::regclass and d.objid = m.oid
                 and d.refclassid = 'pg_opclass'::regclass and d.deptype = 'i') as opclass,
             array['o' || m.amopopr] || case when m.amoppurpose = 'o' then array['F' || m.amopsortfamily] else '{}' end
               as uses,
             0 as kind
        from pg_amop m join pg_operator o on o.oid = m.amopopr join pg_namespace opn on opn.oid = o.oprnamespace
       where m.amopfamily = any(${families.map((f) => f.oid)}::oid[])
      union all
      select p.amprocfamily, p.amprocnum,
             format('function %s (%s, %s) %s', p.amprocnum, format_type(p.amproclefttype, null),
                    format_type(p.amprocrighttype, null), p.amproc::regprocedure),
             (select d.refobjid from pg_depend d where d.classid = 'pg_amproc'::regclass and d.objid = p.oid
                 and d.refclassid = 'pg_opclass'::regclass and d.deptype = 'i'),
             array['f' || p.amproc::oid], 1
        from pg_amproc p
       where p.amprocfamily = any(${families.map((f) => f.oid)}::oid[])) members
     order by family, kind, number, item`;

  const nodes: PlanNode[] = [];
  for (const f of families) {
    const name = `${qualifiedName(f)} using ${f.method}`;
    nodes.push({
      id: `F${f.oid}`,
      statement: {
        key: `operator-family:${f.schema}.${f.name}(${f.method})`,
        sql: `create operator family ${name}`,
        drop: `drop operator family if exists ${name} cascade`,
      },
    });
  }
  for (const c of classes) {
    const own = members.filter((m) => m.opclass === c.oid);
    const items = [...own.map((m) => m.item), ...c.storage ? [`storage ${c.storage}`] : []];
    const isDefault = c.is_default ? " default" : "";
    nodes.push({
      id: `c${c.oid}`,
      statement: {
        key: `operator-class:${c.schema}.${c.name}(${c.method})`,
        sql: `create operator class ${qualifiedName(c)}${isDefault} for type ${c.input_type} ` +
          `using ${c.method} family ${c.family_name} as ${items.join(", ")}`,
        drop: `drop operator class if exists ${qualifiedName(c)} using ${c.method} cascade`,
      },
      after: [`F${c.family}`, ...own.flatMap((m) => m.uses)],
    });
  }
  for (const f of families) {
    const loose = members.filter((m) => m.family === f.oid && m.opclass === null);
    if (loose.length === 0) continue;
    const items = loose.map((m) => m.item).join(", ");
    // After the classes: a class's own members must not be in the family already.
    nodes.push({
      id: `M${f.oid}`,
      statement: {
        key: `operator-family-members:${f.schema}.${f.name}(${f.method})`,
        sql: `alter operator family ${qualifiedName(f)} using ${f.method} add ${items}`,
      },
      after: [
        `F${f.oid}`,
        ...classes.filter((c) => c.family === f.oid).map((c) => `c${c.oid}`),
        ...loose.flatMap((m) => m.uses),
      ],
    });
  }
  return nodes;
}
