/** Ports, URLs and directories of the local stack, shared by the CLI and the gateway. */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// Supabase's local ports by default; REELFORGE_API_PORT / REELFORGE_DB_PORT let a second stack (with
// its own REELFORGE_STACK_DIR) run beside the first, e.g. one per git worktree.
const portEnv = (name: string, fallback: number) => Number(globalThis.Deno?.env.get(name) || fallback);
export const API_PORT = portEnv("REELFORGE_API_PORT", 54321);
export const DB_PORT = portEnv("REELFORGE_DB_PORT", 54322);
export const API_URL = `http://127.0.0.1:${API_PORT}`;
/** What functions, workers and migrations use: `postgres`, not a superuser, as on a hosted project. */
export const DB_URL = `postgresql://postgres:postgres@127.0.0.1:${DB_PORT}/postgres`;
/** The cluster's superuser (supabase_admin, as on hosted): the bootstrap and operator-only test setup. */
export const ADMIN_ROLE = "supabase_admin";
export const ADMIN_DB_URL = `postgresql://${ADMIN_ROLE}:postgres@127.0.0.1:${DB_PORT}/postgres`;
/** The stack's Storage API logs in as Storage does on hosted: the storage schema's owner. */
export const STORAGE_DB_URL = `postgresql://supabase_storage_admin:postgres@127.0.0.1:${DB_PORT}/postgres`;
export const FUNCTIONS_URL = `${API_URL}/functions/v1`;
export const STORAGE_URL = `${API_URL}/storage/v1`;
export const STORAGE_PUBLIC_URL = `${STORAGE_URL}/object/public`;
export const DEFAULT_WALL_CLOCK_MS = 150_000;

export const REPO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface StackLayout {
  root: string;
  pgData: string;
  socketDir: string;
  logs: string;
  postgresLog: string;
  functionLogs: string;
  storage: string;
  /** Other "projects" the gateway stands in for (`/_projects/<name>/storage/v1/...`), one dir each. */
  projects: string;
  /** Each function's deploy set, `<deploy>/<name>/`: what the gateway's workers run. */
  deploy: string;
  /** The Deno cache (DENO_DIR) functions run with: npm packages from the registry, no node_modules. */
  denoCache: string;
  envFile: string;
  secretsFile: string;
  gatewayPidFile: string;
}

/** The stack lives in $REELFORGE_STACK_DIR or <repo>/.stack. */
export function stackLayout(env: Record<string, string | undefined>): StackLayout {
  const root = resolve(env.REELFORGE_STACK_DIR || join(REPO_DIR, ".stack"));
  return {
    root,
    pgData: join(root, "pg"),
    socketDir: join(root, "run"),
    logs: join(root, "logs"),
    postgresLog: join(root, "logs", "postgres.log"),
    functionLogs: join(root, "logs", "functions"),
    storage: join(root, "storage"),
    projects: join(root, "projects"),
    deploy: join(root, "deploy"),
    denoCache: join(root, "deno-cache"),
    envFile: join(root, "env.json"),
    secretsFile: join(root, "secrets.json"),
    gatewayPidFile: join(root, "gateway.pid"),
  };
}
