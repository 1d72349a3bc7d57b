/**
 * What in the cloned schemas only a superuser can create: operator classes and families, text
 * search parsers and templates, functions in C or internal code, aggregates with an internal
 * state, base types (their I/O functions are C), binary-coercible casts and casts between types
 * the target role cannot own (neither type is cloned). On a hosted project the connecting role is not a superuser, so `start`'s
 * preflight can refuse these, or skip them when nothing cloned depends on them, before any data
 * moves. `key` is the plan statement that would create the object, if the plan has one.
 */
import type { CatalogRead } from "./catalog-read.ts";

export interface SuperuserObject {
  /** What to tell the user, e.g. "operator class public.area_ops using btree". */
  name: string;
  /** Why it needs a superuser. */
  reason: string;
  /**
   * The plan statement's key; null for what the plan leaves out (base types). A family's loose
   * members (key operator-family-members:<same name>) go with the family.
   */
  key: string | null;
  /**
   * The objects that use it (pg_depend); empty: nothing does, so a target may do without it.
   * Absent from plans stored before it was traced.
   */
  neededBy?: string[];
}

export async function readSuperuserObjects({ tx, schemas }: CatalogRead): Promise<SuperuserObject[]> {
  return await tx<SuperuserObject[]>`
    with ns as (select oid, nspname from pg_namespace where nspname = any(${schemas}::text[])),
    own (classid, objid) as (
      select e.classid, e.objid from pg_depend e where e.deptype in ('e', 'i')),
    su as (
    select format('operator class %I.%I using %s', ns.nspname, c.opcname, am.amname) as name,
           'creating an operator class needs a superuser' as reason,
           format('operator-class:%s.%s(%s)', ns.nspname, c.opcname, am.amname) as key,
           c.tableoid as classid, c.oid as objid
      from pg_opclass c join ns on ns.oid = c.opcnamespace join pg_am am on am.oid = c.opcmethod
     where (c.tableoid, c.oid) not in (select * from own)
    union all
    select format('operator family %I.%I using %s', ns.nspname, f.opfname, am.amname),
           'creating an operator family needs a superuser',
           format('operator-family:%s.%s(%s)', ns.nspname, f.opfname, am.amname), f.tableoid, f.oid
      from pg_opfamily f join ns on ns.oid = f.opfnamespace join pg_am am on am.oid = f.opfmethod
     where (f.tableoid, f.oid) not in (select * from own)
    union all
    select format('text search parser %I.%I', ns.nspname, p.prsname), 'a text search parser runs C functions',
           format('text-search-parser:%s.%s', ns.nspname, p.prsname), p.tableoid, p.oid
      from pg_ts_parser p join ns on ns.oid = p.prsnamespace
     where (p.tableoid, p.oid) not in (select * from own)
    union all
    select format('text search template %I.%I', ns.nspname, t.tmplname), 'a text search template runs C functions',
           format('text-search-template:%s.%s', ns.nspname, t.tmplname), t.tableoid, t.oid
      from pg_ts_template t join ns on ns.oid = t.tmplnamespace
     where (t.tableoid, t.oid) not in (select * from own)
    union all
    select format('function %I.%I(%s)', ns.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
           format('a function in language %s needs a superuser', l.lanname),
           format('function:%s.%s(%s)', ns.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
           p.tableoid, p.oid
      from pg_proc p join ns on ns.oid = p.pronamespace join pg_language l on l.oid = p.prolang
     where l.lanname in ('c', 'internal') and p.prokind <> 'a' and (p.tableoid, p.oid) not in (select * from own)
    union all
    select format('aggregate %I.%I(%s)', ns.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
           'an aggregate with an internal state needs a superuser',
           format('aggregate:%s.%s(%s)', ns.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
           p.tableoid, p.oid
      from pg_aggregate a join pg_proc p on p.oid = a.aggfnoid join ns on ns.oid = p.pronamespace
     where 'internal'::regtype in (a.aggtranstype, a.aggmtranstype) and (p.tableoid, p.oid) not in (select * from own)
    union all
    select format('type %I.%I', ns.nspname, t.typname), 'a base type has C input and output functions', null,
           t.tableoid, t.oid
      from pg_type t join ns on ns.oid = t.typnamespace
     where t.typtype = 'b' and not (t.typcategory = 'A' and t.typelem <> 0)
       and (t.tableoid, t.oid) not in (select * from own)
    union all
    select format('cast (%s as %s)', format_type(c.castsource, null), format_type(c.casttarget, null)),
           case when c.castmethod = 'b' then 'a binary-coercible cast needs a superuser'
                else 'neither type is cloned, and only their owner or a superuser may cast them' end,
           format('cast:%s->%s', format_type(c.castsource, null), format_type(c.casttarget, null)),
           c.tableoid, c.oid
      from pg_cast c left join pg_proc p on p.oid = c.castfunc
      cross join lateral (
        select exists (select from pg_type t left join pg_type element on element.oid = t.typelem and t.typcategory = 'A'
                        where t.oid in (c.castsource, c.casttarget)
                          and coalesce(element.typnamespace, t.typnamespace) in (select oid from ns)) as of_cloned_type) k
     where c.oid >= 16384 and (c.tableoid, c.oid) not in (select * from own)
       -- The casts the plan carries (see catalog-casts) that a plain owner could not create.
       and (k.of_cloned_type or p.pronamespace in (select oid from ns))
       and (c.castmethod = 'b' or not k.of_cloned_type))
    -- What uses each: objects that depend on it normally, other than its own parts (an operator
    -- family's members, a base type's array type and I/O functions, which go with it).
    select su.name, su.reason, su.key,
           coalesce((select array_agg(distinct pg_describe_object(d.classid, d.objid, 0))
                       from pg_depend d
                      where d.refclassid = su.classid and d.refobjid = su.objid and d.deptype = 'n'
                        and d.classid not in ('pg_amop'::regclass, 'pg_amproc'::regclass)
                        and not exists (select from su other where other.classid = d.classid and other.objid = d.objid)
                        and not (d.classid = 'pg_proc'::regclass and d.objid in (
                          select typinput from pg_type where oid = su.objid union all
                          select typoutput from pg_type where oid = su.objid union all
                          select typreceive from pg_type where oid = su.objid union all
                          select typsend from pg_type where oid = su.objid))), '{}') as "neededBy"
      from su
     order by 1`;
}
