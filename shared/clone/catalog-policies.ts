/**
 * Row level security: enable/force per table, then the policies. A policy's roles that do not
 * exist on the target are left out; a policy left with no role is skipped — on the target it
 * would apply to nobody, which is exactly what a policy for missing roles does.
 */
import type { CatalogRead, DdlStatement, NamedRow } from "./catalog-read.ts";
import { qualifiedName, quoteIdent } from "./sql-text.ts";

const COMMAND: Record<string, string> = { r: "select", a: "insert", w: "update", d: "delete", "*": "all" };

export async function readPolicies(
  { tx, schemas }: CatalogRead,
  targetRoles: Set<string>,
): Promise<DdlStatement[]> {
  const tables = await tx<NamedRow[]>`
    select n.nspname as schema, c.relname as name, c.relrowsecurity as enabled, c.relforcerowsecurity as forced
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any(${schemas}::text[]) and c.relkind in ('r', 'p')
       and (c.relrowsecurity or c.relforcerowsecurity)
       and not exists (select from pg_depend e where e.classid = 'pg_class'::regclass and e.objid = c.oid and e.deptype = 'e')
     order by n.nspname, c.relname`;
  const policies = await tx`
    select n.nspname as schema, c.relname as table_name, p.polname as name, p.polpermissive as permissive,
           p.polcmd as command, pg_get_expr(p.polqual, p.polrelid) as using_expr,
           pg_get_expr(p.polwithcheck, p.polrelid) as check_expr,
           array(select case when r = 0 then '' else pg_get_userbyid(r)::text end
                   from unnest(p.polroles) r order by 1) as roles
      from pg_policy p
      join pg_class c on c.oid = p.polrelid
      join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any(${schemas}::text[])
       and not exists (select from pg_depend e where e.classid = 'pg_class'::regclass and e.objid = c.oid and e.deptype = 'e')
     order by n.nspname, c.relname, p.polname`;

  const statements: DdlStatement[] = [];
  for (const t of tables) {
    const name = qualifiedName(t);
    if (t.enabled) {
      statements.push({
        key: `rls:${t.schema}.${t.name}`,
        sql: `alter table ${name} enable row level security`,
        drop: `alter table if exists ${name} disable row level security`,
      });
    }
    if (t.forced) {
      statements.push({
        key: `rls-force:${t.schema}.${t.name}`,
        sql: `alter table ${name} force row level security`,
        drop: `alter table if exists ${name} no force row level security`,
      });
    }
  }
  for (const p of policies) {
    // '' stands for PUBLIC (role oid 0).
    const roles = (p.roles as string[]).filter((role) => role === "" || targetRoles.has(role));
    if (roles.length === 0) continue;
    const table = qualifiedName({ schema: p.schema, name: p.table_name });
    let sql =
      `create policy ${quoteIdent(p.name)} on ${table} as ${p.permissive ? "permissive" : "restrictive"}` +
      ` for ${COMMAND[p.command]} to ${
        roles.map((role) => role === "" ? "public" : quoteIdent(role)).join(", ")
      }`;
    if (p.using_expr !== null) sql += ` using (${p.using_expr})`;
    if (p.check_expr !== null) sql += ` with check (${p.check_expr})`;
    statements.push({
      key: `policy:${p.schema}.${p.table_name}.${p.name}`,
      sql,
      drop: `drop policy if exists ${quoteIdent(p.name)} on ${table}`,
    });
  }
  return statements;
}
