/**
 * Where a deploy goes: the running local stack (its .stack/env.json) or a hosted project (its ref,
 * SUPABASE_DB_URL, and API keys from the environment or `supabase projects api-keys`).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";

export interface DeployTarget {
  mode: "local" | "hosted";
  /** The project ref (hosted only). */
  ref: string | null;
  apiUrl: string;
  functionsUrl: string;
  storageUrl: string;
  /** As `postgres` (not a superuser), as migrations and functions connect. */
  dbUrl: string;
  /** Sent as the doorbell's Authorization (the functions check the internal secret, not this). */
  anonKey: string;
  /** For the Storage API (bucket checks). */
  serviceKey: string;
}

/** The local stack as `stack start` described it in <stack>/env.json. */
export async function localTarget(stackDir: string): Promise<DeployTarget> {
  const file = join(stackDir, "env.json");
  const env = JSON.parse(
    await readFile(file, "utf8").catch(() => {
      throw new Error(`local stack is not running (no ${file}): start it with npm run stack:start`);
    }),
  );
  return {
    mode: "local",
    ref: null,
    apiUrl: env.API_URL,
    functionsUrl: env.FUNCTIONS_URL,
    storageUrl: env.STORAGE_URL,
    dbUrl: env.DB_URL,
    anonKey: env.ANON_KEY,
    serviceKey: env.SERVICE_ROLE_KEY,
  };
}

/**
 * A hosted project. SUPABASE_URL overrides https://<ref>.supabase.co (custom domains);
 * SUPABASE_ANON_KEY / SUPABASE_SERVICE_ROLE_KEY override the keys read from `apiKeysJson` (the
 * output of `supabase projects api-keys --reveal -o json`).
 */
export function hostedTarget(
  ref: string,
  env: Record<string, string | undefined>,
  apiKeysJson: string | undefined,
): DeployTarget {
  if (!env.SUPABASE_DB_URL) {
    throw new Error(
      "SUPABASE_DB_URL is not set: the direct database URL of the project is needed for the SQL steps",
    );
  }
  const apiUrl = (env.SUPABASE_URL || `https://${ref}.supabase.co`).replace(/\/+$/, "");
  const keys = parseApiKeys(apiKeysJson);
  const anonKey = env.SUPABASE_ANON_KEY || keys.get("anon") || keys.get("publishable");
  const serviceKey = env.SUPABASE_SERVICE_ROLE_KEY || keys.get("service_role") || keys.get("secret");
  if (!anonKey || !serviceKey) {
    throw new Error(
      "no anon / service role key: set SUPABASE_ANON_KEY and SUPABASE_SERVICE_ROLE_KEY, or let `supabase projects api-keys` list them",
    );
  }
  return {
    mode: "hosted",
    ref,
    apiUrl,
    functionsUrl: `${apiUrl}/functions/v1`,
    storageUrl: `${apiUrl}/storage/v1`,
    dbUrl: env.SUPABASE_DB_URL,
    anonKey,
    serviceKey,
  };
}

/** Key by name (anon, service_role, or the type of a new-style key: publishable, secret). */
function parseApiKeys(json: string | undefined): Map<string, string> {
  const keys = new Map<string, string>();
  if (!json) return keys;
  const rows: unknown = JSON.parse(json);
  for (const row of Array.isArray(rows) ? rows as Record<string, unknown>[] : []) {
    const value = row.api_key ?? row.apiKey;
    if (typeof value !== "string" || value.length === 0) continue;
    for (const name of [row.name, row.type]) {
      if (typeof name === "string" && !keys.has(name)) keys.set(name, value);
    }
  }
  return keys;
}
