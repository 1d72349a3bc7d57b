/**
 * Where a benchmark finds the local stack: <stack dir>/env.json, written by `stack start`.
 * BENCH_DB_URL points the database-only parts at another Postgres (no gateway, so no HTTP parts).
 */
import { join, resolve } from "node:path";

export interface BenchEnv {
  DB_URL: string;
  /** Null when only a database was given (BENCH_DB_URL). */
  API_URL: string | null;
  JWT_SECRET: string | null;
  /** For the stack's /_stack admin endpoints (worker list, kills, config). */
  SERVICE_ROLE_KEY: string | null;
  /** The stack's Postgres data directory (its postmaster.pid); null with BENCH_DB_URL. */
  PG_DATA: string | null;
  /** The stack's superuser (supabase_admin), for what the API's roles may not do; null with BENCH_DB_URL. */
  ADMIN_DB_URL: string | null;
}

const REPO_DIR = resolve(import.meta.dirname!, "..", "..");

export function benchEnv(): BenchEnv {
  const dbOnly = Deno.env.get("BENCH_DB_URL");
  if (dbOnly) {
    return {
      DB_URL: dbOnly,
      API_URL: null,
      JWT_SECRET: null,
      SERVICE_ROLE_KEY: null,
      PG_DATA: null,
      ADMIN_DB_URL: null,
    };
  }
  const stackDir = resolve(Deno.env.get("REELFORGE_STACK_DIR") || join(REPO_DIR, ".stack"));
  let env: Record<string, string>;
  try {
    env = JSON.parse(Deno.readTextFileSync(join(stackDir, "env.json")));
  } catch {
    throw new Error(`no ${stackDir}/env.json: start the stack (npm run stack:start) or set BENCH_DB_URL`);
  }
  return {
    DB_URL: env.DB_URL,
    API_URL: env.API_URL,
    JWT_SECRET: env.JWT_SECRET,
    SERVICE_ROLE_KEY: env.SERVICE_ROLE_KEY,
    PG_DATA: join(stackDir, "pg"),
    ADMIN_DB_URL: env.ADMIN_DB_URL ?? null,
  };
}
