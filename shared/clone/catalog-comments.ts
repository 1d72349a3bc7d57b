/**
 * Comments on everything the plan creates. pg_identify_object names the object with the quoting
 * and qualification COMMENT ON expects; only domain constraints need their own wording.
 */
import type { CatalogRead, DdlStatement } from "./catalog-read.ts";
import { quoteLiteral } from "./sql-text.ts";

/** pg_identify_object's type → the COMMENT ON keyword, for the kinds of objects the plan creates. */
const KEYWORD: Record<string, string> = {
  schema: "schema",
  type: "type",
  "composite type": "type",
  domain: "domain",
  function: "function",
  procedure: "procedure",
  table: "table",
  view: "view",
  "materialized view": "materialized view",
  "foreign table": "foreign table",
  sequence: "sequence",
  index: "index",
  "table column": "column",
  "view column": "column",
  "materialized view column": "column",
  "foreign table column": "column",
  "composite type column": "column",
  "table constraint": "constraint",
  trigger: "trigger",
  policy: "policy",
  rule: "rule",
  "statistics object": "statistics",
  aggregate: "aggregate",
  operator: "operator",
  "operator class": "operator class",
  "operator family": "operator family",
  collation: "collation",
  "text search dictionary": "text search dictionary",
  "text search configuration": "text search configuration",
  "text search parser": "text search parser",
  "text search template": "text search template",
};

export async function readComments({ tx, schemas }: CatalogRead): Promise<DdlStatement[]> {
  const comments = await tx`
    with described as (
      select d.*, o.type, o.identity,
             -- The table a column, constraint, trigger, policy or rule belongs to.
             case d.classoid when 'pg_class'::regclass then d.objoid
                             when 'pg_constraint'::regclass then (select conrelid from pg_constraint where oid = d.objoid)
                             when 'pg_trigger'::regclass then (select tgrelid from pg_trigger where oid = d.objoid)
                             when 'pg_policy'::regclass then (select polrelid from pg_policy where oid = d.objoid)
                             when 'pg_rewrite'::regclass then (select ev_class from pg_rewrite where oid = d.objoid) end as relation,
             -- pg_identify_object's own schema column is quoted for types and empty for triggers.
             case d.classoid when 'pg_namespace'::regclass then d.objoid
                             when 'pg_type'::regclass then (select typnamespace from pg_type where oid = d.objoid)
                             when 'pg_proc'::regclass then (select pronamespace from pg_proc where oid = d.objoid)
                             when 'pg_constraint'::regclass then (select connamespace from pg_constraint where oid = d.objoid)
                             when 'pg_statistic_ext'::regclass then (select stxnamespace from pg_statistic_ext where oid = d.objoid)
                             when 'pg_operator'::regclass then (select oprnamespace from pg_operator where oid = d.objoid)
                             when 'pg_opclass'::regclass then (select opcnamespace from pg_opclass where oid = d.objoid)
                             when 'pg_opfamily'::regclass then (select opfnamespace from pg_opfamily where oid = d.objoid)
                             when 'pg_collation'::regclass then (select collnamespace from pg_collation where oid = d.objoid)
                             when 'pg_ts_dict'::regclass then (select dictnamespace from pg_ts_dict where oid = d.objoid)
                             when 'pg_ts_config'::regclass then (select cfgnamespace from pg_ts_config where oid = d.objoid)
                             when 'pg_ts_parser'::regclass then (select prsnamespace from pg_ts_parser where oid = d.objoid)
                             when 'pg_ts_template'::regclass then (select tmplnamespace from pg_ts_template where oid = d.objoid)
                             end as namespace
        from pg_description d, pg_identify_object(d.classoid, d.objoid, d.objsubid) o
       where d.objoid >= 16384) -- FirstNormalObjectId: built-in objects' comments are not ours to clone
    select type, identity, description,
           case when type = 'domain constraint' then
             (select format('%I on domain %s', c.conname, format_type(c.contypid, null))
                from pg_constraint c where c.oid = described.objoid) end as domain_constraint
      from described
     where (type = any(${Object.keys(KEYWORD)}::text[]) or type = 'domain constraint')
       and coalesce(namespace, (select relnamespace from pg_class where oid = relation))
           in (select oid from pg_namespace where nspname = any(${schemas}::text[]))
       and not exists (select from pg_depend e where e.classid = described.classoid and e.objid = described.objoid and e.deptype = 'e')
       and not exists (select from pg_depend e where e.classid = 'pg_class'::regclass and e.objid = relation and e.deptype = 'e')
     order by type, identity`;
  return comments.map((c) => {
    const target = c.domain_constraint
      ? `constraint ${c.domain_constraint}`
      : `${KEYWORD[c.type]} ${c.identity}`;
    return { key: `comment:${target}`, sql: `comment on ${target} is ${quoteLiteral(c.description)}` };
  });
}
