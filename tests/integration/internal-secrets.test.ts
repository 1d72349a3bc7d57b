import type { TransactionSql } from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Sql } from "../support/stack.ts";

let sql: Sql;

/** Runs `run` in a transaction that is always rolled back: DDL and settings here never leak. */
async function rolledBack<T>(run: (tx: TransactionSql) => Promise<T>): Promise<T> {
  let out: T;
  await sql.begin(async (tx) => {
    out = await run(tx);
    throw new RolledBack();
  }).catch((error) => {
    if (!(error instanceof RolledBack)) throw error;
  });
  return out!;
}
class RolledBack extends Error {}

// What signed-in users may call in public; nothing else there, and nothing at all for anon.
const USER_RPCS = [
  "assert_image_request_owner(uuid)",
  "asset_url(assets)",
  "cancel_task(uuid)",
  "clear_scene_images(uuid,integer)",
  "migrate_legacy_images(uuid)",
  "my_usage()",
  "own_key_hint(uuid)",
  "request_scenes_with_images(uuid)",
  "resume_task(uuid)",
  "save_generated_image(uuid,integer,integer,text)",
  "set_usage_limits(uuid,jsonb)",
];

beforeAll(() => {
  sql = connect();
});
afterAll(() => sql.end());

describe("function privileges", () => {
  it("gives anon and authenticated no engine or asset_admin function, and the service role all of them", async () => {
    const rows = await sql`
      select p.oid::regprocedure::text as fn,
             has_function_privilege('anon', p.oid, 'execute') as anon,
             has_function_privilege('authenticated', p.oid, 'execute') as authenticated,
             has_function_privilege('service_role', p.oid, 'execute') as service
        from pg_proc p where p.pronamespace in ('engine'::regnamespace, 'asset_admin'::regnamespace)`;
    expect(rows.length).toBeGreaterThan(30);
    expect(rows.filter((r) => r.anon || r.authenticated).map((r) => r.fn)).toEqual([]);
    expect(rows.filter((r) => !r.service).map((r) => r.fn)).toEqual([]);
  });

  it("lets anon call no public function, and signed-in users only the RPCs meant for them", async () => {
    const rows = await sql`
      select replace(p.oid::regprocedure::text, 'public.', '') as fn,
             has_function_privilege('anon', p.oid, 'execute') as anon,
             has_function_privilege('authenticated', p.oid, 'execute') as authenticated
        from pg_proc p
       where p.pronamespace = 'public'::regnamespace
         and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')`;
    expect(rows.filter((r) => r.anon).map((r) => r.fn)).toEqual([]);
    expect(rows.filter((r) => r.authenticated).map((r) => r.fn.replace(/ /g, "")).sort()).toEqual(USER_RPCS);
  });

  it("leaves a function created after the migrations executable by neither anon nor authenticated, in every project schema", async () => {
    const rows = await rolledBack(async (tx) => {
      for (const schema of ["public", "engine", "asset_admin"]) {
        await tx.unsafe(`create function ${schema}.made_later() returns int language sql as 'select 1'`);
      }
      return tx`
        select n.nspname as schema,
               has_function_privilege('anon', p.oid, 'execute') as anon,
               has_function_privilege('authenticated', p.oid, 'execute') as authenticated,
               has_function_privilege('service_role', p.oid, 'execute') as service
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where p.proname = 'made_later' order by 1`;
    });
    expect(rows).toEqual([
      { schema: "asset_admin", anon: false, authenticated: false, service: true },
      { schema: "engine", anon: false, authenticated: false, service: true },
      { schema: "public", anon: false, authenticated: false, service: true },
    ]);
  });
});

describe("is_backend_caller", () => {
  const asCaller = (claims: string | null, role?: string) =>
    rolledBack(async (tx) => {
      // A definer wrapper, as the RPCs that use it are: the question is asked from inside one.
      await tx`create function public.ask_backend() returns boolean language sql security definer set search_path = '' as 'select public.is_backend_caller()'`;
      await tx`grant execute on function public.ask_backend() to anon, authenticated, service_role`;
      if (claims !== null) await tx`select set_config('request.jwt.claims', ${claims}, true)`;
      if (role) await tx.unsafe(`set local role ${role}`);
      const [{ backend }] = await tx`select public.ask_backend() as backend`;
      return backend;
    });

  it("says yes to a direct backend connection and to a service_role JWT", async () => {
    expect(await asCaller(null)).toBe(true);
    expect(await asCaller(JSON.stringify({ role: "service_role" }), "service_role")).toBe(true);
  });

  it("fails closed: API roles without claims, other claims, claims without a role, unreadable claims", async () => {
    expect(await asCaller(null, "anon")).toBe(false);
    expect(await asCaller(null, "authenticated")).toBe(false);
    expect(
      await asCaller(JSON.stringify({ role: "authenticated", sub: crypto.randomUUID() }), "authenticated"),
    ).toBe(false);
    expect(await asCaller(JSON.stringify({ sub: crypto.randomUUID() }))).toBe(false);
    expect(await asCaller("{not json")).toBe(false);
    // Claiming service_role while the session runs as a user role is not the backend either.
    expect(await asCaller(JSON.stringify({ role: "service_role" }), "authenticated")).toBe(false);
  });
});

describe("the internal dispatch secret", () => {
  it("is kept in plaintext only on the local stack, which says so", async () => {
    const [row] = await sql`
      select engine.is_local_stack() as local, internal_secret is not null as plaintext, engine.internal_secret() = internal_secret as served
        from engine.settings`;
    expect(row).toEqual({ local: true, plaintext: true, served: true });
    const [comment] = await sql`select col_description('engine.settings'::regclass, 4) as text`;
    expect(comment.text).toMatch(/^LOCAL STACK ONLY/);
  });

  it("is refused, and never served from plaintext, in a database with neither Vault nor the local-stack mark", async () => {
    const outcome = await rolledBack(async (tx) => {
      await tx`select set_config('reelforge.local_stack', 'off', true)`;
      const [{ served }] = await tx`select engine.internal_secret() as served`;
      const error = await tx.savepoint((sp) =>
        sp`select engine.configure_dispatch('http://x', 'k', ${"s".repeat(40)})`
      ).catch((e) => e);
      return { served, code: error?.code };
    });
    expect(outcome).toEqual({ served: null, code: "RF005" });
  });

  it("goes to Vault where Vault exists, leaving no plaintext behind", async () => {
    const secret = `vault-${crypto.randomUUID()}`;
    const outcome = await rolledBack(async (tx) => {
      // Vault's interface as hosted projects have it (vault.create_secret, vault.decrypted_secrets).
      await tx`create schema vault`;
      await tx`create table vault.secrets (id uuid primary key default gen_random_uuid(), name text unique, secret text)`;
      await tx.unsafe(
        `create function vault.create_secret(p_secret text, p_name text) returns uuid language sql
                       as $$ insert into vault.secrets (name, secret) values (p_name, p_secret) returning id $$`,
      );
      await tx`create view vault.decrypted_secrets as select name, secret as decrypted_secret from vault.secrets`;
      await tx`select engine.configure_dispatch('http://127.0.0.1:1/functions/v1', 'anon-key', ${secret})`;
      const [row] = await tx`select internal_secret, engine.internal_secret() as served from engine.settings`;
      const stored = await tx`select name from vault.secrets where secret = ${secret}`;
      return { plaintext: row.internal_secret, served: row.served, stored: stored.map((s) => s.name) };
    });
    expect(outcome).toEqual({ plaintext: null, served: secret, stored: ["reelforge_internal_secret"] });
  });

  it("cannot be read or configured by API roles", async () => {
    const [row] = await sql`
      select has_table_privilege('anon', 'engine.settings', 'select') as anon_read,
             has_table_privilege('authenticated', 'engine.settings', 'select') as user_read,
             has_function_privilege('authenticated', 'engine.internal_secret()', 'execute') as user_secret,
             has_function_privilege('anon', 'engine.configure_dispatch(text,text,text,integer)', 'execute') as anon_configure`;
    expect(row).toEqual({ anon_read: false, user_read: false, user_secret: false, anon_configure: false });
  });
});
