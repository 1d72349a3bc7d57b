/**
 * Privileges. Grants are what an object's ACL adds to the built-in default for its kind
 * (acldefault), as pg_dump computes them. Revokes are what the object lacks from that default (a
 * function no longer executable by PUBLIC) or from the source's own default privileges: a target
 * set up like the source (Supabase grants anon and authenticated everything in public by default)
 * would otherwise hand out what the source took away. The owner's own entries are left alone — on
 * the target the objects belong to the connecting role — and so are roles the target lacks.
 * The cloned schemas' default privileges of the source's connecting role are cloned too.
 */
import type { CatalogRead, DdlStatement } from "./catalog-read.ts";
import { quoteIdent } from "./sql-text.ts";

interface AclRow {
  action: "grant" | "revoke";
  kind: string;
  name: string;
  column_name: string | null;
  grantee: string;
  privilege: string;
  grantable: boolean;
}

const DEFAULT_PRIVILEGE_OBJECTS: Record<string, string> = {
  r: "tables",
  S: "sequences",
  f: "functions",
  T: "types",
};

export async function readGrants(
  { tx, schemas }: CatalogRead,
  targetRoles: Set<string>,
): Promise<DdlStatement[]> {
  const rows = await tx<AclRow[]>`
    with ns as (select oid, nspname from pg_namespace where nspname = any(${schemas}::text[])),
    objects as (
      select case c.relkind when 'S' then 'sequence' else 'table' end as kind, format('%I.%I', ns.nspname, c.relname) as name,
             null::name as column_name, c.relacl as acl, c.relowner as owner, ns.oid as namespace,
             case c.relkind when 'S' then 's' else 'r' end as default_kind
        from pg_class c join ns on ns.oid = c.relnamespace
       where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
         and not exists (select from pg_depend e where e.classid = 'pg_class'::regclass and e.objid = c.oid and e.deptype = 'e')
      union all
      select 'table', format('%I.%I', ns.nspname, c.relname), a.attname, a.attacl, c.relowner, ns.oid, null
        from pg_attribute a join pg_class c on c.oid = a.attrelid join ns on ns.oid = c.relnamespace
       where c.relkind in ('r', 'p', 'v', 'm', 'f') and a.attnum > 0 and not a.attisdropped and a.attacl is not null
         and not exists (select from pg_depend e where e.classid = 'pg_class'::regclass and e.objid = c.oid and e.deptype = 'e')
      union all
      -- GRANT cannot say an ordered-set aggregate's ORDER BY: regprocedure runs its arguments together.
      select case p.prokind when 'p' then 'procedure' else 'function' end,
             case when p.prokind = 'a' then p.oid::regprocedure::text
                  else format('%I.%I(%s)', ns.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) end,
             null, p.proacl, p.proowner, ns.oid, 'f'
        from pg_proc p join ns on ns.oid = p.pronamespace
       where p.prokind in ('f', 'p', 'w', 'a')
         and not exists (select from pg_depend e where e.classid = 'pg_proc'::regclass and e.objid = p.oid and e.deptype in ('e', 'i'))
      union all
      select 'type', format('%I.%I', ns.nspname, t.typname), null, t.typacl, t.typowner, ns.oid, 'T'
        from pg_type t join ns on ns.oid = t.typnamespace
       where (t.typtype in ('e', 'd', 'r') or (t.typtype = 'c' and (select relkind from pg_class where oid = t.typrelid) = 'c'))
         and not exists (select from pg_depend e where e.classid = 'pg_type'::regclass and e.objid = t.oid and e.deptype = 'e')
      union all
      select 'schema', quote_ident(ns.nspname), null, n.nspacl, n.nspowner, null, 'n'
        from pg_namespace n join ns on ns.oid = n.oid),
    entries as (
      select o.kind, o.name, o.column_name, a.grantee, a.privilege_type, a.is_grantable, 'actual' as side
        from objects o, aclexplode(coalesce(o.acl, acldefault(o.default_kind::"char", o.owner))) a
      union all
      select o.kind, o.name, o.column_name, a.grantee, a.privilege_type, a.is_grantable, 'built-in'
        from objects o, aclexplode(acldefault(o.default_kind::"char", o.owner)) a where o.default_kind is not null
      union all
      select o.kind, o.name, o.column_name, a.grantee, a.privilege_type, a.is_grantable, 'configured'
        from objects o
        join pg_default_acl d on d.defaclrole = o.owner and d.defaclnamespace in (0, o.namespace)
                             and d.defaclobjtype = case o.default_kind when 's' then 'S' else o.default_kind end::"char",
             aclexplode(d.defaclacl) a),
    compared as (
      select e.kind, e.name, e.column_name, e.grantee, e.privilege_type, e.is_grantable,
             bool_or(side = 'actual') as actual, bool_or(side = 'built-in') as built_in, bool_or(side = 'configured') as configured
        from entries e
        join objects o on o.kind = e.kind and o.name = e.name and o.column_name is not distinct from e.column_name
       where e.grantee <> o.owner
       group by e.kind, e.name, e.column_name, e.grantee, e.privilege_type, e.is_grantable)
    select case when actual then 'grant' else 'revoke' end as action, kind, name, column_name,
           case when grantee = 0 then '' else pg_get_userbyid(grantee)::text end as grantee,
           privilege_type as privilege, is_grantable as grantable
      from compared
     where (actual and not built_in) or (not actual and (built_in or configured))
     order by 1 desc, kind, name, column_name nulls first, grantee, privilege_type`;

  // One statement per object, grantee and grant option; column privileges one per privilege.
  const grouped = new Map<string, { row: AclRow; items: string[] }>();
  for (const row of rows) {
    if (row.grantee !== "" && !targetRoles.has(row.grantee)) continue;
    const target = row.column_name === null ? row.privilege : quoteIdent(row.column_name);
    const group =
      `${row.action}:${row.kind} ${row.name}:${row.column_name === null ? "" : `${row.privilege} columns:`}` +
      `${row.grantee}${row.grantable ? ":with grant option" : ""}`;
    const entry = grouped.get(group) ?? grouped.set(group, { row, items: [] }).get(group)!;
    entry.items.push(target);
  }
  const statements = [...grouped].map(([key, { row, items }]) => {
    const what = row.column_name === null
      ? items.join(", ").toLowerCase()
      : `${row.privilege.toLowerCase()} (${items.join(", ")})`;
    const grantee = row.grantee === "" ? "public" : quoteIdent(row.grantee);
    const sql = row.action === "grant"
      ? `grant ${what} on ${row.kind} ${row.name} to ${grantee}${row.grantable ? " with grant option" : ""}`
      : `revoke ${what} on ${row.kind} ${row.name} from ${grantee}`;
    return { key, sql };
  });
  return [...statements, ...await readDefaultPrivileges({ tx, schemas }, targetRoles)];
}

/** `alter default privileges in schema ...` for the source's connecting role, as the target's. */
async function readDefaultPrivileges(
  { tx, schemas }: CatalogRead,
  targetRoles: Set<string>,
): Promise<DdlStatement[]> {
  const rows = await tx`
    select n.nspname as schema, d.defaclobjtype as objects,
           case when a.grantee = 0 then '' else pg_get_userbyid(a.grantee)::text end as grantee,
           a.is_grantable as grantable, array_agg(lower(a.privilege_type) order by a.privilege_type) as privileges
      from pg_default_acl d join pg_namespace n on n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a
     where n.nspname = any(${schemas}::text[]) and d.defaclrole = (select oid from pg_roles where rolname = current_user)
       and a.grantee <> d.defaclrole
     group by 1, 2, 3, 4
     order by 1, 2, 3, 4`;
  return rows
    .filter((row) => row.grantee === "" || targetRoles.has(row.grantee))
    .map((row) => ({
      key: `default-privileges:${row.schema}:${row.objects}:${row.grantee}${
        row.grantable ? ":with grant option" : ""
      }`,
      sql:
        `alter default privileges in schema ${quoteIdent(row.schema)} grant ${row.privileges.join(", ")} ` +
        `on ${DEFAULT_PRIVILEGE_OBJECTS[row.objects]} to ${
          row.grantee === "" ? "public" : quoteIdent(row.grantee)
        }` +
        (row.grantable ? " with grant option" : ""),
    }));
}
