/**
 * The local stand-in for Supabase's API gateway on 127.0.0.1:54321: edge functions, Auth's sign-in
 * and JWKS, Storage (metadata in Postgres, bytes on disk; also for other "projects" under
 * /_projects/<name>), the pg_net dispatcher and the stack's admin endpoints, in one Deno process.
 * Started detached by `stack start` (cli.ts), which passes the settings below as env.
 */
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import postgres from "postgres";
import { z } from "zod";
import { createJwtVerifier } from "../../shared/auth/verify-jwt.ts";
import { ADMIN_PREFIX, createAdminApi } from "./admin-api.ts";
import { createRenderWorkerControl } from "./render-worker-control.ts";
import { AUTH_PREFIX, createAuthApi } from "./auth-api.ts";
import { createAuthUsers } from "./auth-users.ts";
import { publicJwkOf, type SigningKey } from "./jwt.ts";
import { createFunctionRegistry } from "./function-registry.ts";
import { registryEnv } from "./deploy-set.ts";
import { createFunctionsRouter, FUNCTIONS_PREFIX, withCors } from "./functions-router.ts";
import { startNetDispatcher } from "./net-dispatcher.ts";
import {
  ADMIN_DB_URL,
  API_PORT,
  API_URL,
  DB_PORT,
  REPO_DIR,
  stackLayout,
  STORAGE_DB_URL,
} from "./stack-layout.ts";
import { limitsFromEnv } from "./platform-limits.ts";
import { createProjectsRouter, PROJECTS_PREFIX } from "./projects-router.ts";
import { createStorageApi, STORAGE_API_PREFIX } from "./storage-api.ts";
import { createCallerResolver } from "./storage-callers.ts";
import { createWorkerPool } from "./worker-pool.ts";

const GatewayConfig = z.object({
  REELFORGE_JWT_SECRET: z.string().min(32),
  REELFORGE_ANON_KEY: z.string().min(1),
  REELFORGE_SERVICE_ROLE_KEY: z.string().min(1),
  REELFORGE_INTERNAL_SECRET: z.string().min(1),
  REELFORGE_ENCRYPTION_KEY: z.string().min(32),
  REELFORGE_DB_URL: z.string().url(),
  /** The ES256 key pair that signs user tokens, as JSON ({kid, privateJwk}). */
  REELFORGE_JWT_SIGNING_KEY: z.string().transform((text) => JSON.parse(text) as SigningKey),
  REELFORGE_AUTH_JWT_ALG: z.enum(["ES256", "HS256"]).default("ES256"),
  REELFORGE_SECRET_KEY: z.string().startsWith("sb_secret_"),
  REELFORGE_PUBLISHABLE_KEY: z.string().startsWith("sb_publishable_"),
});

const env = Deno.env.toObject();
const config = GatewayConfig.parse(env);
const layout = stackLayout(env);
mkdirSync(layout.functionLogs, { recursive: true });
mkdirSync(layout.storage, { recursive: true });

const authIssuer = `${API_URL}/auth/v1`;
// What the hosted gateway's verify_jwt accepts, and what /auth/v1/user trusts.
const verifyJwt = createJwtVerifier({
  jwks: {
    find: async (kid) =>
      kid === config.REELFORGE_JWT_SIGNING_KEY.kid
        ? publicJwkOf(config.REELFORGE_JWT_SIGNING_KEY)
        : undefined,
  },
  legacySecret: config.REELFORGE_JWT_SECRET,
  issuers: [authIssuer],
});
const authSql = postgres(config.REELFORGE_DB_URL, {
  max: 2,
  onnotice: () => {},
  connection: { application_name: "stack:auth" },
});
const registry = createFunctionRegistry(REPO_DIR, { deployDir: layout.deploy });
const pool = createWorkerPool({
  repoDir: REPO_DIR,
  functionLogsDir: layout.functionLogs,
  // REELFORGE_WALL_CLOCK_MS, REELFORGE_CPU_SOFT_LIMIT_MS, ... (platform-limits.ts).
  limits: limitsFromEnv(env),
  baseEnv: {
    SUPABASE_URL: API_URL,
    SUPABASE_ANON_KEY: config.REELFORGE_ANON_KEY,
    SUPABASE_SERVICE_ROLE_KEY: config.REELFORGE_SERVICE_ROLE_KEY,
    SUPABASE_DB_URL: config.REELFORGE_DB_URL,
    REELFORGE_INTERNAL_SECRET: config.REELFORGE_INTERNAL_SECRET,
    REELFORGE_ENCRYPTION_KEY: config.REELFORGE_ENCRYPTION_KEY,
    // The legacy path stays open, as on a project that moved to signing keys; ES256 tokens are
    // checked against the JWKS at SUPABASE_URL (this gateway).
    REELFORGE_LEGACY_JWT_SECRET: config.REELFORGE_JWT_SECRET,
    // The new API keys the way hosted functions get them: JSON dictionaries name → key.
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: config.REELFORGE_SECRET_KEY }),
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: config.REELFORGE_PUBLISHABLE_KEY }),
    PATH: env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: env.HOME ?? "/root",
    // Functions resolve `npm:` from the stack's own cache, as the hosted bundler resolves them
    // from the registry; with no package.json discovery a node_modules can never stand in.
    DENO_DIR: layout.denoCache,
    DENO_NO_PACKAGE_JSON: "1",
    ...registryEnv(env),
  },
  functionEnv: {
    // The clone tests clone into databases of this stack's own Postgres on 127.0.0.1: a trusted
    // network, said so explicitly, for clone-database only. Hosted projects keep the defaults.
    "clone-database": {
      REELFORGE_CLONE_ALLOW_PRIVATE_TARGETS: "true",
      REELFORGE_CLONE_ALLOWED_PORTS: `5432,6543,${DB_PORT}`,
    },
  },
});
const routeFunctionRequest = createFunctionsRouter({ registry, pool, verifyJwt });
const handleAuthRequest = createAuthApi({
  users: createAuthUsers(authSql),
  issuer: authIssuer,
  signingKey: config.REELFORGE_JWT_SIGNING_KEY,
  userTokenAlg: config.REELFORGE_AUTH_JWT_ALG,
  jwtSecret: config.REELFORGE_JWT_SECRET,
  apiKeys: {
    serviceRoleKeys: [config.REELFORGE_SERVICE_ROLE_KEY, config.REELFORGE_SECRET_KEY],
    anonKeys: [config.REELFORGE_ANON_KEY, config.REELFORGE_PUBLISHABLE_KEY],
  },
  verifyJwt,
});
// Storage as Supabase runs it: its own database role, RLS by the caller's key or token.
const storageSql = postgres(STORAGE_DB_URL, {
  max: 4,
  onnotice: () => {},
  connection: { application_name: "stack:storage" },
});
const storageOptions = {
  jwtSecret: config.REELFORGE_JWT_SECRET,
  callerOf: createCallerResolver({
    serviceRoleKeys: [config.REELFORGE_SERVICE_ROLE_KEY, config.REELFORGE_SECRET_KEY],
    anonKeys: [config.REELFORGE_ANON_KEY, config.REELFORGE_PUBLISHABLE_KEY],
    verifyJwt,
  }),
  fileSizeLimit: () => pool.limits().storageFileSizeLimitBytes,
};
const handleStorageApi = createStorageApi({ ...storageOptions, sql: storageSql, dir: layout.storage });
const routeProjectRequest = createProjectsRouter({
  ...storageOptions,
  projectsDir: layout.projects,
  adminDbUrl: ADMIN_DB_URL,
  storageDbUrl: STORAGE_DB_URL,
});
const dispatcher = await startNetDispatcher({
  dbUrl: config.REELFORGE_DB_URL,
  logFile: join(layout.logs, "net.log"),
});
const handleAdminRequest = createAdminApi({
  registry,
  pool,
  net: dispatcher,
  serviceRoleKey: config.REELFORGE_SERVICE_ROLE_KEY,
  renderWorkers: createRenderWorkerControl(layout),
});

async function route(request: Request): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (pathname.startsWith(FUNCTIONS_PREFIX)) return await routeFunctionRequest(request, pathname);
  if (pathname.startsWith(AUTH_PREFIX)) return withCors(await handleAuthRequest(request, pathname));
  if (pathname.startsWith(STORAGE_API_PREFIX)) return withCors(await handleStorageApi(request, pathname));
  if (pathname.startsWith(PROJECTS_PREFIX)) return await routeProjectRequest(request, pathname);
  if (pathname.startsWith(ADMIN_PREFIX)) return await handleAdminRequest(request, pathname);
  return Response.json({ code: "NOT_FOUND", message: "No such route on the local stack" }, { status: 404 });
}

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: API_PORT,
  onListen: ({ hostname, port }) => console.log(`[gateway] listening on http://${hostname}:${port}`),
}, async (request) => {
  const started = performance.now();
  let response: Response;
  try {
    response = await route(request);
  } catch (error) {
    console.error(`[gateway] ${request.method} ${new URL(request.url).pathname} failed:`, error);
    response = Response.json({ code: "INTERNAL_ERROR", message: "Gateway error" }, { status: 500 });
  }
  const ms = Math.round(performance.now() - started);
  console.log(
    `${new Date().toISOString()} ${request.method} ${
      new URL(request.url).pathname
    } ${response.status} ${ms}ms`,
  );
  return response;
});

// One stray rejection must not take the whole stack down with it.
globalThis.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  console.error("[gateway] unhandled rejection:", event.reason);
});

async function shutdown(signal: string): Promise<void> {
  console.log(`[gateway] ${signal}: stopping workers and dispatcher`);
  pool.shutdown();
  await Promise.race([
    Promise.allSettled([dispatcher.stop(), server.shutdown(), authSql.end(), storageSql.end()]),
    new Promise((resolve) => setTimeout(resolve, 2000)),
  ]);
  Deno.exit(0);
}
Deno.addSignalListener("SIGTERM", () => void shutdown("SIGTERM"));
Deno.addSignalListener("SIGINT", () => void shutdown("SIGINT"));
