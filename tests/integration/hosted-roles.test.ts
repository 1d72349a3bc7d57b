/**
 * The stack's roles are a hosted project's: supabase_admin is the superuser; `postgres`, which
 * migrations, functions, workers and the pg_net stand-in use, is not, and what needs superuser
 * fails for it here as it would there.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Sql } from "../support/stack.ts";

let sql: Sql;

beforeAll(() => {
  sql = connect();
});
afterAll(() => sql.end());

/**
 * Runs `statement` as postgres in a transaction that is always rolled back (alone, where it may not
 * run in one); returns the error code, or null.
 */
async function failureOf(statement: string): Promise<string | null> {
  if (/^alter system/i.test(statement)) {
    return await sql.unsafe(statement).then(() => null, (error) => error.code ?? "unknown");
  }
  try {
    await sql.begin(async (tx) => {
      await tx.unsafe(statement);
      throw Object.assign(new Error("rolled back"), { code: "rolled_back" });
    });
  } catch (error) {
    const code = (error as { code?: string }).code ?? null;
    return code === "rolled_back" ? null : code;
  }
  return null;
}

describe("the postgres role", () => {
  it("has the attributes and memberships of a hosted project's postgres, and no superuser", async () => {
    const [me] = await sql`
      select current_user as name, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls
        from pg_roles where rolname = current_user`;
    expect(me).toEqual({
      name: "postgres",
      rolsuper: false,
      rolcreatedb: true,
      rolcreaterole: true,
      rolreplication: true,
      rolbypassrls: true,
    });
    const memberships = await sql`
      select r.rolname from pg_auth_members m join pg_roles r on r.oid = m.roleid
       where m.member = 'postgres'::regrole order by 1`;
    expect(memberships.map((row) => row.rolname)).toEqual(
      ["anon", "authenticated", "pg_read_all_data", "pg_signal_backend", "service_role"],
    );
    const [admin] = await sql`select rolsuper from pg_roles where rolname = 'supabase_admin'`;
    expect(admin.rolsuper).toBe(true);
  });

  it("owns the project database, its public schema and what the migrations made", async () => {
    const [owners] = await sql`
      select pg_get_userbyid(d.datdba) as database,
             (select count(*)::int from pg_proc where pronamespace = 'engine'::regnamespace
                 and proowner <> 'postgres'::regrole) as engine_functions_not_ours,
             pg_get_userbyid((select relowner from pg_class where oid = 'supabase_migrations.schema_migrations'::regclass)) as history
        from pg_database d where d.datname = current_database()`;
    expect(owners).toEqual({ database: "postgres", engine_functions_not_ours: 0, history: "postgres" });
    expect(await failureOf("create table public.roles_probe (id int)")).toBeNull();
  });

  it("is what the functions' pool, the render worker and the pg_net stand-in connect as", async () => {
    const sessions = await sql`
      select distinct usename::text, application_name from pg_stat_activity
       where application_name in ('reelforge_net', 'reelforge-render-worker') order by 2`;
    expect(sessions).toEqual([
      { usename: "postgres", application_name: "reelforge-render-worker" },
      { usename: "postgres", application_name: "reelforge_net" },
    ]);
  });

  it("may create allow-listed extensions the platform already made and trusted ones, not others", async () => {
    expect(await failureOf("create extension if not exists pg_cron")).toBeNull();
    expect(await failureOf("create extension if not exists pgcrypto with schema extensions")).toBeNull();
    expect(await failureOf("create extension citext")).toBeNull(); // trusted since Postgres 13
    expect(await failureOf("create extension adminpack")).toBe("42501"); // not allow-listed on hosted either
  });

  it("is refused what only a superuser may do", async () => {
    const refused = {
      alterSystem: "alter system set work_mem = '8MB'",
      eventTrigger:
        "create function public.roles_probe_evt() returns event_trigger language plpgsql as 'begin end'; " +
        "create event trigger roles_probe on ddl_command_end execute function public.roles_probe_evt()",
      adminDefaults:
        "alter default privileges for role supabase_admin revoke execute on functions from public",
      authObjects: "create table auth.roles_probe (id int)",
      cronJobsDirectly: "update cron.job set schedule = '* * * * *'",
      superuserRole: "create role roles_probe_super superuser",
      readServerFiles: "select pg_read_file('postgresql.conf')",
    };
    const codes = Object.fromEntries(
      await Promise.all(
        Object.entries(refused).map(async ([name, statement]) => [name, await failureOf(statement)]),
      ),
    );
    expect(codes).toEqual(Object.fromEntries(Object.keys(refused).map((name) => [name, "42501"])));
  });
});
