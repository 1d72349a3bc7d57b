/**
 * Text search templates, parsers, dictionaries and configurations of the cloned schemas, in that
 * order (each names the kind before it). They belong to the types phase: a generated column or
 * an index expression may name a configuration (to_tsvector('studio.search', ...)). Templates and
 * parsers name C functions, so only a superuser can create them (see catalog-superuser).
 */
import type { CatalogRead, DdlStatement, NamedRow } from "./catalog-read.ts";
import { qualifiedName, quoteIdent } from "./sql-text.ts";

export async function readTextSearch({ tx, schemas }: CatalogRead): Promise<DdlStatement[]> {
  // regproc and regdictionary come out schema-qualified unless built in (search_path is empty).
  const templates = await tx<NamedRow[]>`
    select n.nspname as schema, t.tmplname as name, nullif(t.tmplinit, 0)::regproc::text as init,
           t.tmpllexize::regproc::text as lexize
      from pg_ts_template t join pg_namespace n on n.oid = t.tmplnamespace
     where n.nspname = any(${schemas}::text[])
       and not exists (select from pg_depend e where e.classid = 'pg_ts_template'::regclass and e.objid = t.oid and e.deptype = 'e')
     order by 1, 2`;
  const parsers = await tx<NamedRow[]>`
    select n.nspname as schema, p.prsname as name, p.prsstart::regproc::text as start,
           p.prstoken::regproc::text as gettoken, p.prsend::regproc::text as "end",
           p.prslextype::regproc::text as lextypes, nullif(p.prsheadline, 0)::regproc::text as headline
      from pg_ts_parser p join pg_namespace n on n.oid = p.prsnamespace
     where n.nspname = any(${schemas}::text[])
       and not exists (select from pg_depend e where e.classid = 'pg_ts_parser'::regclass and e.objid = p.oid and e.deptype = 'e')
     order by 1, 2`;
  const dictionaries = await tx<NamedRow[]>`
    select n.nspname as schema, d.dictname as name, d.dictinitoption as options,
           format('%I.%I', tn.nspname, t.tmplname) as template
      from pg_ts_dict d join pg_namespace n on n.oid = d.dictnamespace
      join pg_ts_template t on t.oid = d.dicttemplate join pg_namespace tn on tn.oid = t.tmplnamespace
     where n.nspname = any(${schemas}::text[])
       and not exists (select from pg_depend e where e.classid = 'pg_ts_dict'::regclass and e.objid = d.oid and e.deptype = 'e')
     order by 1, 2`;
  const configurations = await tx<NamedRow[]>`
    select n.nspname as schema, c.cfgname as name, format('%I.%I', pn.nspname, p.prsname) as parser,
           (select json_agg(json_build_object('token', m.token, 'dictionaries', m.dictionaries) order by m.tokentype)
              from (select m.maptokentype as tokentype,
                           (select t.alias from ts_token_type(c.cfgparser) t where t.tokid = m.maptokentype) as token,
                           string_agg(m.mapdict::regdictionary::text, ', ' order by m.mapseqno) as dictionaries
                      from pg_ts_config_map m where m.mapcfg = c.oid group by m.maptokentype) m) as mappings
      from pg_ts_config c join pg_namespace n on n.oid = c.cfgnamespace
      join pg_ts_parser p on p.oid = c.cfgparser join pg_namespace pn on pn.oid = p.prsnamespace
     where n.nspname = any(${schemas}::text[])
       and not exists (select from pg_depend e where e.classid = 'pg_ts_config'::regclass and e.objid = c.oid and e.deptype = 'e')
     order by 1, 2`;

  const statements: DdlStatement[] = [];
  const create = (kind: string, row: { schema: string; name: string }, options: string[]) => {
    const name = qualifiedName(row);
    statements.push({
      key: `text-search-${kind}:${row.schema}.${row.name}`,
      sql: `create text search ${kind} ${name} (${options.join(", ")})`,
      drop: `drop text search ${kind} if exists ${name} cascade`,
    });
  };
  for (const t of templates) {
    create("template", t, [...t.init ? [`init = ${t.init}`] : [], `lexize = ${t.lexize}`]);
  }
  for (const p of parsers) {
    const options = [`start = ${p.start}`, `gettoken = ${p.gettoken}`, `end = ${p.end}`];
    options.push(`lextypes = ${p.lextypes}`, ...p.headline ? [`headline = ${p.headline}`] : []);
    create("parser", p, options);
  }
  for (const d of dictionaries) {
    // dictinitoption is already option syntax: stopwords = 'english', accept = 'false'.
    create("dictionary", d, [`template = ${d.template}`, ...d.options ? [d.options] : []]);
  }
  for (const c of configurations) {
    create("configuration", c, [`parser = ${c.parser}`]);
    const alter = `alter text search configuration ${qualifiedName(c)}`;
    for (const m of c.mappings ?? []) {
      statements.push({
        key: `text-search-mapping:${c.schema}.${c.name}.${m.token}`,
        sql: `${alter} add mapping for ${quoteIdent(m.token)} with ${m.dictionaries}`,
      });
    }
  }
  return statements;
}
