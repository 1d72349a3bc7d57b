/**
 * The clone plan as a job applies it: checked against what the target can host (target-hosting.ts),
 * skipped objects left out, refused ones named; foreign tables, publications, event triggers and
 * security labels. The plain pg_dump-identical clone, as two roles, is clone-schema.test.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findConflicts } from "../../shared/clone/catalog-conflicts.ts";
import { type ClonePlan, readClonePlan } from "../../shared/clone/schema-plan.ts";
import { quoteIdent } from "../../shared/clone/sql-text.ts";
import { checkTargetHosting, type HostingReport, withoutSkipped } from "../../shared/clone/target-hosting.ts";
import { applyStatements, copyPlanRows, dropDatabaseInBackground, schemaDump } from "../support/clone-db.ts";
import { stackEnv } from "../support/stack.ts";

// Any Postgres 15 server we may create databases in: CLONE_TEST_DB_URL, else the local stack's.
const serverUrl = process.env.CLONE_TEST_DB_URL ?? stackEnv().DB_URL;
const fixture = readFileSync(join(import.meta.dirname!, "..", "fixtures", "clone-fidelity.sql"), "utf8");
const CLONED = ["public", "studio"];

const suffix = crypto.randomUUID().replaceAll("-", "").slice(0, 10);
const databases = { source: `clone_src_${suffix}`, target: `clone_dst_${suffix}` };
const urlOf = (database: string) => Object.assign(new URL(serverUrl), { pathname: `/${database}` }).href;
const connect = (database: string) => postgres(urlOf(database), { max: 1, onnotice: () => {} });

let source: postgres.Sql;
let target: postgres.Sql;
let plan: ClonePlan;
let fullPlan: ClonePlan;
let hosting: HostingReport;
// The stack's superuser, when the tests run on the stack: it loads the fixture's superuser-only
// parts and gives the target what the platform would (postgres_fdw, usable by the project's role).
const adminUrl = process.env.CLONE_TEST_DB_URL ? undefined : stackEnv().ADMIN_DB_URL;
const role = new URL(serverUrl).username;
const asAdmin = (database: string) =>
  postgres(Object.assign(new URL(adminUrl!), { pathname: `/${database}` }).href, {
    max: 1,
    onnotice: () => {},
  });

beforeAll(async () => {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${databases.source}`);
  await admin.unsafe(`create database ${databases.target}`);
  await admin.end();
  source = connect(databases.source);
  target = connect(databases.target);
  if (adminUrl) {
    const loader = asAdmin(databases.source);
    const platform = asAdmin(databases.target);
    try {
      await loader.unsafe(`set role ${quoteIdent(role)};\n${fixture}`);
      await platform.unsafe(`create schema extensions; create extension postgres_fdw with schema extensions;
                             grant usage on foreign data wrapper postgres_fdw to ${quoteIdent(role)}`);
    } finally {
      await Promise.all([loader.end(), platform.end()]);
    }
  } else {
    await source.unsafe(fixture);
  }

  const roles = await target`select rolname from pg_roles`;
  fullPlan = await readClonePlan(source, CLONED, new Set(roles.map((r) => r.rolname as string)));
  // As a job does: what the target cannot host and nothing needs is left out.
  hosting = await checkTargetHosting(target, fullPlan);
  plan = withoutSkipped(fullPlan, hosting);

  // The executor's setting: function bodies may name tables that do not exist yet.
  await target`set check_function_bodies = off`;
  await applyStatements(target, plan.types);
  await applyStatements(target, plan.schema);
  await copyPlanRows(source, target, plan);
  await applyStatements(target, plan.postData);
});

afterAll(async () => {
  await source?.end();
  await target?.end();
  dropDatabaseInBackground(databases.source, serverUrl);
  dropDatabaseInBackground(databases.target, serverUrl);
});

describe("the clone plan on a target that may not host everything", () => {
  it("rebuilds public and studio so that pg_dump --schema-only cannot tell target from source", () => {
    // Both databases live on one server and are owned by the same role, so OWNER TO lines agree too.
    const dumped = schemaDump(urlOf(databases.source), CLONED);
    expect(dumped).toContain("ALTER TABLE ONLY public.render_jobs ATTACH PARTITION public.render_jobs_2025");
    expect(dumped).toContain("CREATE MATERIALIZED VIEW studio.film_credit_counts");
    expect(schemaDump(urlOf(databases.target), CLONED)).toEqual(dumped);
  });

  it.skipIf(!adminUrl)(
    "makes a foreign table's server and user mappings, never the mappings' secrets",
    async () => {
      expect(schemaDump(urlOf(databases.source), CLONED)).toContain(
        "CREATE FOREIGN TABLE public.archived_films",
      );
      const servers = (sql: postgres.Sql) =>
        sql`select srvname, srvoptions::text[] as options from pg_foreign_server order by 1`;
      expect(await servers(target)).toEqual(await servers(source));
      expect(await target`select usename, umoptions from pg_user_mappings order by 1`).toEqual([
        { usename: role, umoptions: null },
        { usename: "public", umoptions: null },
      ]);
      expect(JSON.stringify(plan)).not.toContain("not-a-real-secret");
      // Foreign rows are the remote server's: nothing to copy.
      expect(plan.tables.map((t) => t.name)).not.toContain("archived_films");
    },
  );

  it.skipIf(!adminUrl)(
    "publishes the cloned tables only, with their column lists and row filters",
    async () => {
      const published = (sql: postgres.Sql) =>
        sql`select pubname, schemaname, tablename, attnames::text[] as columns, rowfilter
            from pg_publication_tables order by 1, 2, 3`;
      const onSource = await published(source);
      expect(onSource.map((r) => `${r.pubname}:${r.schemaname}.${r.tablename}`)).toContain(
        "film_changes:offstage.payroll",
      );
      expect(await published(target)).toEqual(
        onSource.filter((r) => r.schemaname !== "offstage" && r.pubname !== "everything"),
      );
      const options = (sql: postgres.Sql) =>
        sql`select pubname, pubinsert, pubupdate, pubtruncate, pubviaroot from pg_publication order by 1`;
      expect(await options(target)).toEqual(
        (await options(source)).filter((p) => ["film_changes"].includes(p.pubname)),
      );
    },
  );

  it.skipIf(!adminUrl)(
    "leaves out, with a warning, what a non-superuser target cannot make and nothing needs",
    () => {
      expect(hosting.refused).toEqual([]);
      expect(hosting.skipped.map((f) => f.object)).toEqual([
        "publication everything (tables in schema studio)",
        "event trigger fidelity_note_ddl",
      ]);
      expect(hosting.skipped[1].reason).toBe("permission denied to create event trigger");
      const keys = [...fullPlan.postData].map((s) => s.key);
      expect(keys).toEqual(
        expect.arrayContaining(["event-trigger:fidelity_note_ddl", "publication:everything"]),
      );
      expect(keys.at(-1)).toBe("event-trigger-enabled:fidelity_note_ddl");
      expect(plan.postData.map((s) => s.key)).not.toContain("event-trigger:fidelity_note_ddl");
    },
  );

  it.skipIf(!adminUrl)("makes the event trigger where the target's role may", async () => {
    expect.assertions(1);
    const admin = asAdmin(databases.target);
    const made = admin.begin(async (tx) => {
      for (const statement of fullPlan.postData.filter((s) => s.key.startsWith("event-trigger"))) {
        await tx.unsafe(statement.sql);
      }
      const triggers = await tx`
        select evtevent, evttags, evtenabled, evtfoid::regproc::text as fn from pg_event_trigger`;
      // Rolled back: the target's other tests expect none.
      throw Object.assign(new Error("roll back"), { triggers });
    });
    try {
      await made;
    } catch (error) {
      expect((error as { triggers?: unknown }).triggers).toEqual([{
        evtevent: "ddl_command_end",
        evttags: ["CREATE TABLE", "ALTER TABLE"],
        evtenabled: "A",
        fn: "note_ddl_command",
      }]);
    } finally {
      await admin.end();
    }
  });

  it("refuses a target that lacks an extension a cloned object needs, naming both", async () => {
    const bare = connect(databases.source.replace("src", "bare"));
    const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
    const bareName = databases.source.replace("src", "bare");
    await admin.unsafe(`create database ${bareName}`);
    try {
      const report = await checkTargetHosting(bare, fullPlan);
      const needs = fullPlan.types.find((s) => s.key === "extension:postgres_fdw");
      if (!needs) return; // loaded without postgres_fdw: nothing needs it
      expect(report.refused).toEqual([{
        object: "extension postgres_fdw",
        reason: expect.stringMatching(/permission denied|superuser/),
        neededBy: ["server film_archive"],
      }]);
    } finally {
      await bare.end();
      await admin.end();
      dropDatabaseInBackground(bareName, serverUrl);
    }
  });

  it("refuses a target that has an extension a cloned object needs in another schema, naming both", async () => {
    await source.unsafe(`create schema zzp_e; create extension hstore with schema zzp_e;
                         create table zzp_e.kv (id int primary key, h zzp_e.hstore)`);
    const kvPlan = await readClonePlan(source, ["zzp_e"], new Set());
    const otherName = databases.source.replace("src", "ext");
    const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${otherName}`);
    const other = connect(otherName);
    try {
      // A new Supabase project keeps its extensions in `extensions`.
      await other.unsafe("create schema extensions; create extension hstore with schema extensions");
      // Before, it counted as installed, and the schema phase failed: type "zzp_e.hstore" does not exist.
      expect((await checkTargetHosting(other, kvPlan)).refused).toEqual([{
        object: "extension hstore",
        reason: "the target has it in schema extensions, but the cloned objects name it in zzp_e; on the " +
          'target, move it (`alter extension "hstore" set schema "zzp_e"`, as the owner of its objects) or ' +
          'recreate it (`drop extension "hstore"; create schema if not exists "zzp_e"; create extension "hstore" ' +
          'with schema "zzp_e"` if nothing there uses it), or clone into a database without it',
        neededBy: ["table zzp_e.kv"],
      }]);

      // What the refusal says the target's own role can do is enough.
      await other.unsafe(
        `drop extension "hstore"; create schema if not exists "zzp_e"; create extension "hstore" with schema "zzp_e"`,
      );
      expect((await checkTargetHosting(other, kvPlan)).refused).toEqual([]);
      await applyStatements(other, [...kvPlan.types, ...kvPlan.schema]);
    } finally {
      await other.end();
      await admin.end();
      dropDatabaseInBackground(otherName, serverUrl);
    }
  });

  it("refuses what only a superuser may create and something uses; leaves out, with a warning, what nothing uses", async () => {
    const superuserOnly = (name: string, key: string, neededBy?: string[]) => ({
      name,
      reason: "creating an operator class needs a superuser",
      key,
      ...(neededBy ? { neededBy } : {}),
    });
    const withOperatorClasses: ClonePlan = {
      ...fullPlan,
      types: [],
      schema: [],
      postData: [
        { key: "operator-class:public.area_ops(btree)", sql: "select 1" },
        { key: "operator-class:public.unused_ops(btree)", sql: "select 1" },
      ],
      external: [],
      superuserOnly: [
        superuserOnly("operator class public.area_ops using btree", "operator-class:public.area_ops(btree)", [
          "index public.plots_area_idx",
        ]),
        superuserOnly(
          "operator class public.unused_ops using btree",
          "operator-class:public.unused_ops(btree)",
          [],
        ),
        // A plan stored before what uses each was traced: refused, not guessed.
        superuserOnly("operator class public.old_ops using btree", "operator-class:public.old_ops(btree)"),
      ],
    };
    const [{ rolsuper }] = await target`select rolsuper from pg_roles where rolname = current_user`;
    const report = await checkTargetHosting(target, withOperatorClasses);
    const reason = "creating an operator class needs a superuser, and the target's role is not one";
    expect(report.refused).toEqual(
      rolsuper ? [] : [
        {
          object: "operator class public.area_ops using btree",
          reason,
          neededBy: ["index public.plots_area_idx"],
        },
        {
          object: "operator class public.old_ops using btree",
          reason,
          neededBy: [expect.stringContaining("not traced")],
        },
      ],
    );
    expect(report.skipped).toEqual(
      rolsuper ? [] : [{ object: "operator class public.unused_ops using btree", reason, neededBy: [] }],
    );
    expect(withoutSkipped(withOperatorClasses, report).postData.map((s) => s.key)).toEqual(
      rolsuper
        ? ["operator-class:public.area_ops(btree)", "operator-class:public.unused_ops(btree)"]
        : ["operator-class:public.area_ops(btree)"],
    );
  });

  it("skips security labels whose provider the target has not loaded", async () => {
    const labelled: ClonePlan = {
      ...fullPlan,
      types: [],
      schema: [],
      postData: [{
        key: "security-label:sepgsql:table public.films",
        sql: "security label for sepgsql on table public.films is 'system_u:object_r:sepgsql_table_t:s0'",
        requires: {
          object: "security label (sepgsql) on table public.films",
          need: { kind: "label_provider", provider: "sepgsql" },
          neededBy: [],
        },
      }],
    };
    const report = await checkTargetHosting(target, labelled);
    expect(report.skipped).toEqual([{
      object: "security label (sepgsql) on table public.films",
      reason: expect.stringMatching(/sepgsql.*not loaded/),
      neededBy: [],
    }]);
    expect(withoutSkipped(labelled, report).postData).toEqual([]);
  });

  // Last on purpose: it takes the clone apart.
  it("undoes everything it created when the drop statements run newest first, as a restart does", async () => {
    const applied = [...plan.types, ...plan.schema, ...plan.postData];
    for (const statement of applied.reverse()) {
      if (statement.drop) await target.unsafe(statement.drop);
    }
    expect(await findConflicts(target, plan)).toEqual([]);
    const [{ n }] = await target`
      select count(*)::int as n from pg_class c join pg_namespace s on s.oid = c.relnamespace
       where s.nspname in ('public', 'studio')
         and not exists (select from pg_depend e where e.objid = c.oid and e.deptype = 'e')`;
    expect(n).toBe(0);
    const [global] = await target`
      select (select count(*) from pg_foreign_server)::int as servers,
             (select count(*) from pg_user_mappings)::int as mappings,
             (select count(*) from pg_publication)::int as publications`;
    expect(global).toEqual({ servers: 0, mappings: 0, publications: 0 });
  });
});
