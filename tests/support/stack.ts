import { readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { signJwt } from "../../scripts/stack/jwt.ts";

export interface StackEnv {
  API_URL: string;
  DB_URL: string;
  ANON_KEY: string;
  SERVICE_ROLE_KEY: string;
  JWT_SECRET: string;
  INTERNAL_SECRET: string;
  STORAGE_DIR: string;
}

const stackDir = process.env.REELFORGE_STACK_DIR ?? join(import.meta.dirname, "..", "..", ".stack");

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

export interface TestUser {
  id: string;
  token: string;
}

export async function createUser(sql: Sql): Promise<TestUser> {
  const [{ id }] = await sql`
    insert into auth.users (email) values (${`user-${crypto.randomUUID()}@test.local`}) returning id`;
  const token = await signJwt(
    { sub: id, role: "authenticated", aud: "authenticated", exp: Math.floor(Date.now() / 1000) + 3600 },
    stackEnv().JWT_SECRET,
  );
  return { id, token };
}

/** Runs `run` inside a transaction as the `authenticated` role with the user's JWT claims, like PostgREST. */
export async function asUser<T>(sql: Sql, userId: string, run: (tx: postgres.TransactionSql) => Promise<T>) {
  return sql.begin(async (tx) => {
    await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: userId, role: "authenticated" })}, true)`;
    await tx`set local role authenticated`;
    return run(tx);
  }) as Promise<T>;
}

export async function invoke(fn: string, body: unknown, options: { token?: string; path?: string; headers?: Record<string, string>; method?: string } = {}) {
  const headers: Record<string, string> = { "content-type": "application/json", ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(`${stackEnv().API_URL}/functions/v1/${fn}${options.path ?? ""}`, {
    method: options.method ?? "POST",
    headers,
    body: options.method === "GET" ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
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

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns a truthy value or the timeout passes. */
export async function waitFor<T>(check: () => Promise<T>, { timeoutMs = 30_000, everyMs = 100, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
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
