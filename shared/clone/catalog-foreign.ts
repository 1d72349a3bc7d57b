/**
 * Foreign tables of the cloned schemas, and what they stand on: their servers, the servers' user
 * mappings and any foreign-data wrapper that is not an extension's. Servers and wrappers belong
 * to no schema, so the clone makes only those its foreign tables use. User mappings are created
 * without their options: those hold the remote passwords, which the target's operator sets
 * (`alter user mapping ... options (add password ...)`). Rows stay where they are: a foreign
 * table's data is the remote server's, never copied or verified.
 */
import type { CatalogRead, DdlStatement, NamedRow } from "./catalog-read.ts";
import { qualifiedName, quoteIdent, quoteLiteral } from "./sql-text.ts";

export interface ForeignStatements {
  /** Wrappers, servers, user mappings: before the tables, in the `types` phase. */
  servers: DdlStatement[];
  /** Foreign tables, after the tables (a foreign table may be a partition). */
  tables: DdlStatement[];
  /** Foreign partitions attached to their parents. */
  attach: DdlStatement[];
}

/** ` options (key 'value', ...)` from an options array of `key=value`, or nothing. */
export function fdwOptions(options: string[] | null): string {
  if (!options?.length) return "";
  const pairs = options.map((option) => {
    const at = option.indexOf("=");
    return `${quoteIdent(option.slice(0, at))} ${quoteLiteral(option.slice(at + 1))}`;
  });
  return ` options (${pairs.join(", ")})`;
}

/** The foreign tables of the cloned schemas, and the servers, user mappings and wrappers they need. */
export async function readForeignObjects(
  { tx, schemas }: CatalogRead,
  targetRoles: Set<string>,
): Promise<ForeignStatements> {
  const tables = await tx<NamedRow[]>`
    select n.nspname as schema, c.relname as name, s.srvname as server, ft.ftoptions::text[] as options,
           c.relispartition as is_partition, pg_get_expr(c.relpartbound, c.oid) as bound,
           (select json_build_object('schema', pn.nspname, 'name', p.relname)
              from pg_inherits i join pg_class p on p.oid = i.inhparent join pg_namespace pn on pn.oid = p.relnamespace
             where i.inhrelid = c.oid) as parent,
           (select json_agg(json_build_object(
                     'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod), 'notNull', a.attnotnull,
                     'default', pg_get_expr(d.adbin, d.adrelid), 'generated', a.attgenerated,
                     'options', a.attfdwoptions::text[],
                     'collation', case when a.attcollation <> t.typcollation then
                       (select format('%I.%I', cn.nspname, co.collname) from pg_collation co
                          join pg_namespace cn on cn.oid = co.collnamespace where co.oid = a.attcollation) end)
                   order by a.attnum)
              from pg_attribute a join pg_type t on t.oid = a.atttypid
              left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
             where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as columns,
           (select json_agg(format('constraint %I %s', co.conname, pg_get_constraintdef(co.oid)) order by co.conname)
              from pg_constraint co where co.conrelid = c.oid and co.contype = 'c' and co.conislocal) as checks
      from pg_foreign_table ft join pg_class c on c.oid = ft.ftrelid
      join pg_namespace n on n.oid = c.relnamespace join pg_foreign_server s on s.oid = ft.ftserver
     where n.nspname = any(${schemas}::text[])
       and not exists (select from pg_depend e where e.classid = 'pg_class'::regclass and e.objid = c.oid and e.deptype = 'e')
     order by n.nspname, c.relname`;
  const servers = await tx<{ oid: number; name: string; [column: string]: unknown }[]>`
    select s.oid, s.srvname as name, s.srvtype as type, s.srvversion as version, s.srvoptions::text[] as options,
           w.fdwname as wrapper,
           array(select ft.ftrelid::regclass::text from pg_foreign_table ft where ft.ftserver = s.oid order by 1) as used_by
      from pg_foreign_server s join pg_foreign_data_wrapper w on w.oid = s.srvfdw
     where s.srvname = any(${[...new Set(tables.map((t) => t.server as string))]}::text[])
     order by s.srvname`;
  // Wrappers an extension makes come with it (catalog-extensions.ts); only a superuser makes others.
  const wrappers = await tx`
    select w.fdwname as name, w.fdwoptions::text[] as options,
           case when w.fdwhandler <> 0 then w.fdwhandler::regproc::text end as handler,
           case when w.fdwvalidator <> 0 then w.fdwvalidator::regproc::text end as validator
      from pg_foreign_data_wrapper w
     where w.fdwname = any(${[...new Set(servers.map((s) => s.wrapper as string))]}::text[])
       and not exists (select from pg_depend e where e.classid = 'pg_foreign_data_wrapper'::regclass
                                                 and e.objid = w.oid and e.deptype = 'e')
     order by w.fdwname`;
  // pg_user_mappings, not pg_user_mapping: readable without superuser; the options are not wanted.
  const mappings = await tx`
    select srvname as server, usename as role, umuser = 0 as everyone
      from pg_user_mappings where srvname = any(${servers.map((s) => s.name)}::text[])
     order by srvname, usename`;

  const result: ForeignStatements = { servers: [], tables: [], attach: [] };
  for (const w of wrappers) {
    result.servers.push({
      key: `foreign-data-wrapper:${w.name}`,
      sql: `create foreign data wrapper ${quoteIdent(w.name)}${w.handler ? ` handler ${w.handler}` : ""}${
        w.validator ? ` validator ${w.validator}` : ""
      }${fdwOptions(w.options)}`,
      drop: `drop foreign data wrapper if exists ${quoteIdent(w.name)} cascade`,
      requires: {
        object: `foreign-data wrapper ${w.name}`,
        need: { kind: "superuser" },
        neededBy: servers.filter((s) => s.wrapper === w.name).map((s) => `server ${s.name}`),
      },
    });
  }
  for (const s of servers) {
    result.servers.push({
      key: `server:${s.name}`,
      sql: `create server ${quoteIdent(s.name)}${s.type ? ` type ${quoteLiteral(s.type as string)}` : ""}${
        s.version ? ` version ${quoteLiteral(s.version as string)}` : ""
      } foreign data wrapper ${quoteIdent(s.wrapper as string)}${fdwOptions(s.options as string[] | null)}`,
      drop: `drop server if exists ${quoteIdent(s.name)} cascade`,
    });
  }
  for (const m of mappings) {
    if (!m.everyone && !targetRoles.has(m.role)) continue;
    const role = m.everyone ? "public" : quoteIdent(m.role);
    result.servers.push({
      key: `user-mapping:${m.everyone ? "public" : m.role}@${m.server}`,
      sql: `create user mapping for ${role} server ${quoteIdent(m.server)}`,
      drop: `drop user mapping if exists for ${role} server ${quoteIdent(m.server)}`,
    });
  }
  for (const t of tables) {
    const name = qualifiedName(t);
    const columns = (t.columns ?? []).map(foreignColumn);
    const definitions = [...columns, ...(t.checks ?? [])].join(", ");
    result.tables.push({
      key: `foreign-table:${t.schema}.${t.name}`,
      sql: `create foreign table ${name} (${definitions}) server ${quoteIdent(t.server)}${
        fdwOptions(t.options)
      }`,
      drop: `drop foreign table if exists ${name} cascade`,
    });
    if (t.is_partition && t.parent) {
      result.attach.push({
        key: `attach:${t.schema}.${t.name}`,
        sql: `alter table only ${qualifiedName(t.parent)} attach partition ${name} ${t.bound}`,
      });
    }
  }
  return result;
}

interface ForeignColumn {
  name: string;
  type: string;
  notNull: boolean;
  default: string | null;
  generated: string;
  options: string[] | null;
  collation: string | null;
}

function foreignColumn(column: ForeignColumn): string {
  let sql = `${quoteIdent(column.name)} ${column.type}${fdwOptions(column.options)}`;
  if (column.collation) sql += ` collate ${column.collation}`;
  if (column.generated === "s") sql += ` generated always as (${column.default}) stored`;
  else if (column.default !== null) sql += ` default ${column.default}`;
  if (column.notNull) sql += " not null";
  return sql;
}
