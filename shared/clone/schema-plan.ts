/**
 * The clone's DDL plan, read from the source's catalogs in one snapshot (no pg_dump inside a
 * function). Phases run in order — types, schema, the data copy, postData — and each statement
 * has a stable key so an interrupted run resumes where it stopped.
 */
import type { Sql, TransactionSql } from "../db/client.ts";
import { BadRequestError } from "../errors.ts";
import type { CatalogRead, DdlStatement, HostingFinding } from "./catalog-read.ts";
import { readAggregates } from "./catalog-aggregates.ts";
import { readCasts } from "./catalog-casts.ts";
import { readCollations } from "./catalog-collations.ts";
import { readComments } from "./catalog-comments.ts";
import { readConstraints } from "./catalog-constraints.ts";
import { readEventTriggers } from "./catalog-event-triggers.ts";
import { type ExternalDependency, readExternalDependencies } from "./catalog-external.ts";
import { readSchemasAndExtensions } from "./catalog-extensions.ts";
import { readForeignObjects } from "./catalog-foreign.ts";
import { readFunctions } from "./catalog-functions.ts";
import { readGrants } from "./catalog-grants.ts";
import { readOperatorClasses } from "./catalog-operator-classes.ts";
import { readOperators } from "./catalog-operators.ts";
import { readPolicies } from "./catalog-policies.ts";
import { readPublications } from "./catalog-publications.ts";
import { orderRoutines } from "./catalog-routine-order.ts";
import { readSecurityLabels } from "./catalog-security-labels.ts";
import { readSequences } from "./catalog-sequences.ts";
import { readSuperuserObjects, type SuperuserObject } from "./catalog-superuser.ts";
import { readTables } from "./catalog-tables.ts";
import { readTextSearch } from "./catalog-text-search.ts";
import { readTriggersAndRules } from "./catalog-triggers.ts";
import { readTypes } from "./catalog-types.ts";
import { readViews } from "./catalog-views.ts";
import { assertClonableSchemas } from "./schema-allow-list.ts";
import type { TableInfo } from "./table-info.ts";

export type { DdlStatement, SuperuserObject, TableInfo };

export interface ClonePlan {
  schemas: string[];
  /**
   * Schemas, extensions, foreign-data wrappers, servers and user mappings (without options),
   * collations, text search objects, then enums, domains, composite and range types in dependency
   * order.
   */
  types: DdlStatement[];
  /**
   * Functions, aggregates, operators, operator families and classes, casts and the types that
   * need them, in dependency order; then sequences, tables and foreign tables (partitions
   * attached), OWNED BY.
   */
  schema: DdlStatement[];
  /**
   * After the data: primary and chunking keys, views and late routines, materialized view refreshes, indexes, constraints,
   * domain checks added NOT VALID, foreign keys, triggers and rules, row level security, grants, comments, publications, security
   * labels, event triggers (last, so they see none of the clone's DDL). No ALTER ... OWNER:
   * on the target everything belongs to the connecting role.
   */
  postData: DdlStatement[];
  /** Regular tables, partitioned parents (flagged, never copied) and partitions, by schema and name. */
  tables: TableInfo[];
  sequences: { schema: string; name: string }[];
  /**
   * What only a superuser can create (operator classes, C functions, ...), for preflight to
   * refuse or skip on a target whose role is not one. Absent from plans stored before it existed.
   */
  superuserOnly?: SuperuserObject[];
  /** What cloned objects use outside the cloned schemas: the target must have it already. */
  external?: ExternalDependency[];
  /** What the target cannot host and nothing cloned needs: left out of the lists above (target-hosting.ts). */
  skipped?: HostingFinding[];
  /** What the clone never copies and the source has (large objects): a warning from the start on. */
  notCopied?: HostingFinding[];
}

/**
 * The source's large objects, which the clone does not copy: they belong to the database, not to
 * a schema, and live in pg_largeobject, which only a superuser may read. A column holding their
 * OIDs would point at nothing on the target, and nothing said so.
 */
async function readLargeObjects({ tx }: CatalogRead): Promise<HostingFinding[]> {
  const [{ count }] = await tx`select count(*)::int as count from pg_largeobject_metadata`;
  if (count === 0) return [];
  return [{
    object: `${count} large object(s)`,
    reason:
      "large objects are not copied: a column holding their OIDs will point at nothing on the target; carry them with pg_dump --large-objects or lo_export/lo_import",
    neededBy: [],
  }];
}

/**
 * Reads the source catalogs for `schemas`. `targetRoles` are the role names that exist on the
 * target: grants and policy roles naming any other role are left out.
 */
export async function readClonePlan(
  source: Sql,
  schemas: string[],
  targetRoles: Set<string>,
): Promise<ClonePlan> {
  const wanted = [...new Set(schemas)];
  return await source.begin("isolation level repeatable read read only", async (tx) => {
    // An empty search_path makes every pg_get_* and format_type name come out schema-qualified.
    await tx`select set_config('search_path', '', true)`;
    // Checked at start too; again here so no job, however it was created, reads a refused schema.
    await assertClonableSchemas(tx, wanted);
    const found = await tx`select nspname from pg_namespace where nspname = any(${wanted}::text[])`;
    const missing = wanted.filter((schema) => !found.some((row) => row.nspname === schema));
    if (missing.length > 0) {
      throw new BadRequestError("unknown_schema", `the source has no schema named ${missing.join(", ")}`);
    }
    await assertNoChildrenOutside(tx, wanted);

    const read = { tx, schemas: wanted };
    const schemasAndExtensions = await readSchemasAndExtensions(read);
    const types = await readTypes(read);
    const functions = await readFunctions(read);
    const casts = await readCasts(read);
    const routines = await orderRoutines(read, [
      ...functions.early,
      ...types.routineTypes,
      ...await readAggregates(read),
      ...await readOperators(read),
      ...await readOperatorClasses(read),
      ...casts.create,
    ], functions.late);
    const sequences = await readSequences(read);
    const tables = await readTables(read, sequences.identityOptions);
    const foreign = await readForeignObjects(read, targetRoles);
    const constraints = await readConstraints(read, tables.keyIndexOids);
    const views = await readViews(read, [...functions.late, ...routines.late]);
    const plan: ClonePlan = {
      schemas: wanted,
      types: [
        ...schemasAndExtensions,
        ...foreign.servers,
        ...await readCollations(read),
        ...await readTextSearch(read),
        ...types.types,
      ],
      schema: [
        ...routines.early,
        ...types.domainChecksAfterFunctions,
        ...sequences.create,
        ...tables.create,
        ...foreign.tables,
        ...tables.attach,
        ...foreign.attach,
        ...sequences.ownedBy,
      ],
      postData: [
        // Keys are built after the data, as pg_dump does: loading into bare tables and then
        // sorting once is about twice as fast as maintaining the index row by row.
        ...constraints.keys,
        ...views.create,
        // Refreshed before their indexes exist, which is the faster way round.
        ...views.refresh,
        ...constraints.indexes,
        ...constraints.constraints,
        // As pg_dump does: the source's rows were never checked against these, so the copy's must not be.
        ...types.domainChecksAfterData,
        ...constraints.foreignKeys,
        ...constraints.tableSettings,
        ...await readTriggersAndRules(read),
        ...await readPolicies(read, targetRoles),
        ...await readGrants(read, targetRoles),
        ...await readComments(read),
        ...casts.comments,
        ...await readPublications(read),
        ...await readSecurityLabels(read),
        ...await readEventTriggers(read),
      ],
      tables: tables.tables,
      sequences: sequences.sequences,
      superuserOnly: await readSuperuserObjects(read),
      external: await readExternalDependencies(read),
      notCopied: await readLargeObjects(read),
    };
    assertUniqueKeys(plan);
    return plan;
  }) as ClonePlan;
}

function assertUniqueKeys(plan: ClonePlan) {
  const seen = new Set<string>();
  for (const statement of [...plan.types, ...plan.schema, ...plan.postData]) {
    if (seen.has(statement.key)) throw new Error(`clone plan: two statements share the key ${statement.key}`);
    seen.add(statement.key);
  }
}

/**
 * 400 `schema_incomplete` when a cloned table has partitions or inheritance children in a schema
 * not cloned. A partitioned table's rows live in its partitions, so a clone of the parent alone
 * left those rows out and still succeeded: 300 rows at the source, 87 at the target, no warning
 * (pg_dump -n leaves them out as silently). A cloned child whose parent is not cloned is refused
 * by the target check instead (the parent is an outside object it needs, catalog-external.ts).
 */
async function assertNoChildrenOutside(tx: TransactionSql, schemas: string[]): Promise<void> {
  const rows = await tx<{ parent: string; child: string; schema: string }[]>`
    select format('%I.%I', pn.nspname, p.relname) as parent, format('%I.%I', cn.nspname, c.relname) as child,
           cn.nspname as schema
      from pg_inherits i
      join pg_class p on p.oid = i.inhparent join pg_namespace pn on pn.oid = p.relnamespace
      join pg_class c on c.oid = i.inhrelid join pg_namespace cn on cn.oid = c.relnamespace
     where p.relkind in ('r', 'p') and pn.nspname = any(${schemas}::text[]) and cn.nspname <> all(${schemas}::text[])
     order by 1, 2`;
  if (rows.length === 0) return;
  const named = rows.slice(0, 10).map((row) => `${row.child} (of ${row.parent})`);
  if (rows.length > 10) named.push(`${rows.length - 10} more`);
  const add = [...new Set(rows.map((row) => row.schema))];
  throw new BadRequestError(
    "schema_incomplete",
    `cloned tables have partitions or child tables in schemas not cloned, whose rows would not be copied: ${
      named.join(", ")
    }; add ${add.join(", ")} to schemas, or detach them`,
    { schemas: add },
  );
}
