import { readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";

export interface StackEnv {
  API_URL: string;
  /** As `postgres`, not a superuser, as functions and migrations connect on a hosted project. */
  DB_URL: string;
  /** As supabase_admin, the cluster's superuser: only for what the platform itself would do. */
  ADMIN_DB_URL: string;
  ANON_KEY: string;
  SERVICE_ROLE_KEY: string;
  /** New-style keys (sb_secret_ / sb_publishable_), as a new hosted project has them. */
  SECRET_KEY: string;
  PUBLISHABLE_KEY: string;
  /** The legacy HS256 secret: signs the anon/service keys; functions still accept HS256 tokens signed with it. */
  JWT_SECRET: string;
  INTERNAL_SECRET: string;
  STORAGE_DIR: string;
  FUNCTIONS_URL: string;
  STORAGE_URL: string;
}

export const stackDir = process.env.REELFORGE_STACK_DIR ?? join(import.meta.dirname!, "..", "..", ".stack");

export function stackEnv(): StackEnv {
  try {
    return JSON.parse(readFileSync(join(stackDir, "env.json"), "utf8"));
  } catch {
    throw new Error(`local stack is not running (no ${stackDir}/env.json): run npm run stack:start`);
  }
}

/** The stack's REELFORGE_ENCRYPTION_KEY (kept in <stack>/secrets.json), for tests of sealed values. */
export function stackEncryptionKey(): string {
  return JSON.parse(readFileSync(join(stackDir, "secrets.json"), "utf8")).ENCRYPTION_KEY;
}

export function connect(max = 4) {
  return postgres(stackEnv().DB_URL, { max, onnotice: () => {} });
}

export type Sql = ReturnType<typeof connect>;

/**
 * One connection under a name of its own (`<prefix>-<random>`), so pg_stat_activity tells what it
 * waits on (waitsOnLock): how the lock-order tests see a call reach the lock they hold.
 */
export function namedConnection(prefix: string) {
  const applicationName = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  return {
    applicationName,
    db: postgres(stackEnv().DB_URL, {
      max: 1,
      onnotice: () => {},
      connection: { application_name: applicationName },
    }),
  };
}

/**
 * A connection as supabase_admin, for test setup only the platform could do on a hosted project
 * (e.g. what an extension's install script does, as the extension's owner). Never for what the
 * code under test does: that runs as `postgres`.
 */
export function connectAsAdmin(max = 1) {
  const url = stackEnv().ADMIN_DB_URL;
  if (!url) {
    throw new Error("the local stack predates ADMIN_DB_URL: restart it (npm run stack:start -- --fresh)");
  }
  return postgres(url, { max, onnotice: () => {} });
}

export interface TestUser {
  id: string;
  /** An access token from the stack's own sign-in (ES256, as a hosted project issues them). */
  token: string;
}

/** Calls the stack's GoTrue-compatible Auth (scripts/stack/auth-api.ts) with the anon key. */
export async function authRequest(
  path: string,
  body: unknown,
  { method = "POST", token }: { method?: string; token?: string } = {},
) {
  const env = stackEnv();
  const response = await fetch(`${env.API_URL}/auth/v1/${path}`, {
    method,
    headers: {
      apikey: env.ANON_KEY,
      authorization: `Bearer ${token ?? env.ANON_KEY}`,
      "content-type": "application/json",
    },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`auth ${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/** A new user signed up with email and password through the stack's Auth. The sql argument is not needed any more. */
export async function createUser(_sql?: Sql): Promise<TestUser> {
  const session = await authRequest("signup", {
    email: `user-${crypto.randomUUID()}@test.local`,
    password: crypto.randomUUID(),
  });
  return { id: session.user.id, token: session.access_token };
}

/** An anonymous sign-in (what supabase-js signInAnonymously sends): `is_anonymous: true` in its token. */
export async function createAnonymousUser(): Promise<TestUser> {
  const session = await authRequest("signup", { data: {} });
  return { id: session.user.id, token: session.access_token };
}

/** A user made an operator (app_metadata.reelforge_role, set with the service role), signed in afterwards so the token carries it. */
export async function createOperatorUser(): Promise<TestUser> {
  const email = `operator-${crypto.randomUUID()}@test.local`;
  const password = crypto.randomUUID();
  const { user } = await authRequest("signup", { email, password });
  await authRequest(`admin/users/${user.id}`, { app_metadata: { reelforge_role: "operator" } }, {
    method: "PUT",
    token: stackEnv().SERVICE_ROLE_KEY,
  });
  const session = await authRequest("token?grant_type=password", { email, password });
  return { id: user.id, token: session.access_token };
}

/** Runs `run` inside a transaction as the `authenticated` role with the user's JWT claims, like PostgREST. */
export async function asUser<T>(sql: Sql, userId: string, run: (tx: postgres.TransactionSql) => Promise<T>) {
  return sql.begin(async (tx) => {
    await tx`select set_config('request.jwt.claims', ${
      JSON.stringify({ sub: userId, role: "authenticated" })
    }, true)`;
    await tx`set local role authenticated`;
    return run(tx);
  }) as Promise<T>;
}

export async function invoke(
  fn: string,
  body: unknown,
  options: { token?: string; path?: string; headers?: Record<string, string>; method?: string } = {},
) {
  const headers: Record<string, string> = { "content-type": "application/json", ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(`${stackEnv().API_URL}/functions/v1/${fn}${options.path ?? ""}`, {
    method: options.method ?? "POST",
    headers,
    body: options.method === "GET" ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  // deno-lint-ignore no-explicit-any -- a JSON answer the tests read field by field
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch { /* not JSON: assertions will say so */ }
  return { status: response.status, json, text };
}

export async function admin(path: string, body?: unknown) {
  const response = await fetch(`${stackEnv().API_URL}/_stack/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${stackEnv().SERVICE_ROLE_KEY}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`admin ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

/**
 * Stops the stack's render workers and waits until none runs: a worker still stopping could claim
 * a job the caller means to hold back. `admin("render-workers/resume", {})` starts them again.
 */
export async function pauseRenderWorkers() {
  await admin("render-workers/pause", {});
  await waitFor(
    async () =>
      ((await admin("render-workers")) as { workers: { pid: number | null }[] }).workers.every((w) =>
        w.pid === null
      ),
    { timeoutMs: 60_000, what: "render workers to stop" },
  );
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns a truthy value or the timeout passes. */
export async function waitFor<T>(
  check: () => Promise<T>,
  { timeoutMs = 30_000, everyMs = 100, what = "condition" } = {},
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Whether the session connected under `applicationName` is waiting for a lock right now: how the
 * lock-order tests know a call reached the lock they hold, without a clock.
 */
export async function waitsOnLock(sql: Sql, applicationName: string): Promise<boolean> {
  const [row] = await sql`
    select wait_event_type from pg_stat_activity where application_name = ${applicationName}`;
  return row?.wait_event_type === "Lock";
}

export async function taskRow(sql: Sql, id: string) {
  const [row] = await sql`select * from public.background_tasks where id = ${id}`;
  return row;
}

export async function waitForStatus(sql: Sql, id: string, statuses: string[], timeoutMs = 60_000) {
  return waitFor(async () => {
    const row = await taskRow(sql, id);
    return row && statuses.includes(row.status) ? row : null;
  }, { timeoutMs, what: `task ${id} to reach ${statuses.join("/")}` });
}
