/**
 * `bash scripts/stack.sh start [--fresh] | stop | status` — the local Supabase stand-in:
 * PostgreSQL 15 with pg_cron on 127.0.0.1:54322 and the Deno gateway on 127.0.0.1:54321.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import postgres from "postgres";
import { isGatewayHealthy, readGatewayPid, startGateway, stopGateway } from "./gateway-process.ts";
import {
  applyBootstrap,
  applyMigrations,
  ensurePostgresPackages,
  initCluster,
  isPostgresRunning,
  PG_BIN,
  placePostgresDirs,
  startPostgres,
  stopPostgres,
  wipeDataDir,
} from "./postgres-cluster.ts";
import {
  ADMIN_DB_URL,
  API_PORT,
  API_URL,
  DB_PORT,
  DB_URL,
  DEFAULT_WALL_CLOCK_MS,
  FUNCTIONS_URL,
  REPO_DIR,
  stackLayout,
  STORAGE_URL,
} from "./stack-layout.ts";
import { describePortHolder, findPortHolder } from "./port-holder.ts";
import {
  readRenderSupervisorPid,
  startRenderSupervisor,
  stopRenderSupervisor,
} from "./render-worker-process.ts";
import { loadStackSecrets, type StackSecrets } from "./stack-secrets.ts";
import { buildDeploySets, describeDeploySets, runIsolatedDeno } from "./deploy-sets.ts";
import { readConfiguredFunctions } from "./function-registry.ts";

type StackEnv = Record<string, string>;

const env = Deno.env.toObject();
const layout = await placePostgresDirs(stackLayout(env));

/**
 * Whether this checkout's stack is up, on the ports it was started on (.stack/env.json): a stack
 * started with REELFORGE_*_PORT is found without them too, so `start` and `npm run bench` reuse
 * it rather than start a second one on the same data directory.
 */
async function isStackRunning(): Promise<boolean> {
  const apiUrl = (await readStackEnv())?.API_URL;
  return (await readGatewayPid(layout)) !== null && (await isGatewayHealthy(apiUrl)) &&
    (await isPostgresRunning(layout));
}

async function readStackEnv(): Promise<StackEnv | null> {
  return JSON.parse(await readFile(layout.envFile, "utf8").catch(() => "null"));
}

/** Prints the block the way `supabase status -o env` does. */
function printEnvBlock(stackEnv: StackEnv): void {
  for (
    const key of [
      "API_URL",
      "DB_URL",
      "PUBLISHABLE_KEY",
      "SECRET_KEY",
      "ANON_KEY",
      "SERVICE_ROLE_KEY",
      "JWT_SECRET",
      "FUNCTIONS_URL",
      "STORAGE_URL",
    ]
  ) {
    console.log(`${key}="${stackEnv[key]}"`);
  }
}

// Hands the pg_net stand-in's settings to the engine, once a migration has defined the function.
async function configureDispatch(secrets: StackSecrets): Promise<void> {
  const sql = postgres(DB_URL, { max: 1, onnotice: () => {} });
  try {
    const [{ exists }] = await sql`
      select to_regprocedure('engine.configure_dispatch(text,text,text,integer)') is not null as exists`;
    if (!exists) return;
    await sql`
      select engine.configure_dispatch(
        p_functions_url => ${FUNCTIONS_URL}, p_api_key => ${secrets.anonKey},
        p_internal_secret => ${secrets.internalSecret}, p_sweep_every_ms => 1000)`;
    console.log("engine dispatch configured");
  } finally {
    await sql.end();
  }
}

/**
 * The sweeper for the rest of the minute the stack started in. This Debian's pg_cron (1.4)
 * schedules by the minute: engine.run_sweeper starts at each minute and loops inside it, so a
 * stack started mid-minute had no sweeper until the next one (a task due in 2 s waited 31 s once,
 * and a test started right after a fresh start timed out). The hosted platform's sweeper has been
 * running all along; here the rest of this minute's loop starts now, detached, and ends by second
 * 57 as the scheduled runs do, before the next minute's own.
 */
async function sweepRestOfMinute(): Promise<void> {
  const sql = postgres(DB_URL, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`
      select (57 - extract(second from clock_timestamp()))::integer as seconds
        from cron.job where jobname = 'reelforge-sweeper' and schedule = '* * * * *'`;
    if (!row || row.seconds < 3) return;
    spawn(join(PG_BIN, "psql"), ["-X", "-q", "-d", DB_URL, "-c", `call engine.run_sweeper(${row.seconds})`], {
      detached: true,
      stdio: "ignore",
    }).unref();
  } finally {
    await sql.end();
  }
}

async function start(fresh: boolean): Promise<number> {
  if (!fresh && await isStackRunning()) {
    console.log("stack already running");
    if (await readRenderSupervisorPid(layout) === null) {
      await startStackRenderWorkers(await loadStackSecrets(layout, env));
    }
    printEnvBlock((await readStackEnv())!);
    return 0;
  }
  if (fresh) await stop({ quiet: true });
  const held = await portsHeldElsewhere();
  if (held.length > 0) {
    for (const message of held) console.error(message);
    return 1;
  }
  for (const dir of [layout.root, layout.logs, layout.functionLogs, layout.storage]) {
    await mkdir(dir, { recursive: true });
  }
  if (fresh) {
    await wipeDataDir(layout);
    await rm(layout.storage, { recursive: true, force: true });
    await rm(layout.projects, { recursive: true, force: true });
    await mkdir(layout.storage, { recursive: true });
  }

  await ensurePostgresPackages();
  await initCluster(layout);
  if (!await isPostgresRunning(layout)) await startPostgres(layout);
  console.log(`postgres ready on ${DB_URL}`);
  await applyBootstrap(layout);
  await applyMigrations(DB_URL);
  console.log("bootstrap and migrations applied");

  const secrets = await loadStackSecrets(layout, env);
  await configureDispatch(secrets);
  await stopGateway(layout); // a gateway that is alive but unhealthy is replaced
  await buildStackDeploySets();
  const wallClockMs = env.REELFORGE_WALL_CLOCK_MS || String(DEFAULT_WALL_CLOCK_MS);
  const pid = await startGateway(layout, {
    REELFORGE_STACK_DIR: layout.root,
    REELFORGE_JWT_SECRET: secrets.jwtSecret,
    REELFORGE_ANON_KEY: secrets.anonKey,
    REELFORGE_SERVICE_ROLE_KEY: secrets.serviceRoleKey,
    REELFORGE_INTERNAL_SECRET: secrets.internalSecret,
    REELFORGE_ENCRYPTION_KEY: secrets.encryptionKey,
    REELFORGE_DB_URL: DB_URL,
    REELFORGE_WALL_CLOCK_MS: wallClockMs,
    REELFORGE_JWT_SIGNING_KEY: JSON.stringify(secrets.signingKey),
    REELFORGE_SECRET_KEY: secrets.secretKey,
    REELFORGE_PUBLISHABLE_KEY: secrets.publishableKey,
    ...(env.REELFORGE_AUTH_JWT_ALG ? { REELFORGE_AUTH_JWT_ALG: env.REELFORGE_AUTH_JWT_ALG } : {}),
  });
  console.log(`gateway ready on ${API_URL} (pid ${pid}, wall clock ${wallClockMs} ms)`);
  await stopRenderSupervisor(layout);
  await startStackRenderWorkers(secrets);
  await sweepRestOfMinute();

  const stackEnv: StackEnv = {
    API_URL,
    DB_URL,
    // supabase_admin: only for what a real deployment's operator does with admin rights.
    ADMIN_DB_URL,
    ANON_KEY: secrets.anonKey,
    SERVICE_ROLE_KEY: secrets.serviceRoleKey,
    SECRET_KEY: secrets.secretKey,
    PUBLISHABLE_KEY: secrets.publishableKey,
    JWT_SECRET: secrets.jwtSecret,
    INTERNAL_SECRET: secrets.internalSecret,
    STORAGE_DIR: layout.storage,
    FUNCTIONS_URL,
    STORAGE_URL,
  };
  await writeFile(layout.envFile, JSON.stringify(stackEnv, null, 2) + "\n", { mode: 0o600 });
  printEnvBlock(stackEnv);
  return 0;
}

// The gateway serves every function from its deploy set (and rebuilds a set whose sources change);
// built here first so a broken or oversized set stops the start, and so the first worker of each
// function does not wait for npm downloads: `deno cache` fills the stack's own DENO_DIR.
async function buildStackDeploySets(): Promise<void> {
  await rm(layout.deploy, { recursive: true, force: true });
  const built = buildDeploySets(REPO_DIR, layout.deploy, readConfiguredFunctions(REPO_DIR));
  const { report, oversized } = describeDeploySets(built);
  if (oversized.length > 0) {
    throw new Error(`deploy sets over the 20 MB bundle limit: ${oversized.join(", ")}\n${report}`);
  }
  for (const set of built) await runIsolatedDeno("cache", set, layout.denoCache);
  console.log(
    `deploy sets built in ${layout.deploy} (${built.length} functions), npm packages cached in ${layout.denoCache}`,
  );
}

// Render and local_media jobs (FFmpeg) are pulled by worker processes, not run by the gateway; a
// supervisor keeps REELFORGE_RENDER_WORKERS of them (default 1, each with
// REELFORGE_WORKER_CONCURRENCY job slots) running and restarts one that dies.
async function startStackRenderWorkers(secrets: StackSecrets): Promise<void> {
  const workers = Math.max(1, Number(env.REELFORGE_RENDER_WORKERS || 1));
  const pid = await startRenderSupervisor(layout, {
    SUPABASE_DB_URL: DB_URL,
    SUPABASE_URL: API_URL,
    SUPABASE_SERVICE_ROLE_KEY: secrets.serviceRoleKey,
    REELFORGE_WORKER_CONCURRENCY: env.REELFORGE_WORKER_CONCURRENCY || "2",
  }, workers);
  console.log(
    `render workers claiming render, local_media: ${workers} supervised (supervisor pid ${pid}, log .stack/logs/render-worker.log)`,
  );
}

/** What holds this stack's ports, if another stack or program does (this stack's own are fine). */
async function portsHeldElsewhere(): Promise<string[]> {
  const messages = [];
  for (const port of [API_PORT, DB_PORT]) {
    const holder = await findPortHolder(port);
    if (holder && holder.stackDir !== layout.root) messages.push(describePortHolder(holder, layout.root));
  }
  return messages;
}

async function stop({ quiet = false } = {}): Promise<number> {
  await stopRenderSupervisor(layout);
  const gatewayStopped = await stopGateway(layout);
  const postgresRunning = await isPostgresRunning(layout);
  if (postgresRunning) await stopPostgres(layout);
  if (!quiet) console.log(gatewayStopped || postgresRunning ? "stack stopped" : "stack not running");
  return 0;
}

async function status(): Promise<number> {
  const stackEnv = await readStackEnv();
  if (stackEnv && await isStackRunning()) {
    printEnvBlock(stackEnv);
    // Without it nothing renders, and nothing restarts a render worker that dies.
    if (await readRenderSupervisorPid(layout) === null) {
      console.error("render supervisor is not running: `stack start` starts it again");
    }
    return 0;
  }
  const parts = [
    (await isPostgresRunning(layout)) ? "postgres is up" : null,
    (await isGatewayHealthy()) ? "gateway is up" : null,
    (await readRenderSupervisorPid(layout)) !== null ? "render supervisor is up" : null,
  ].filter(Boolean);
  console.log(parts.length > 0 ? `stack not running (partially: ${parts.join(", ")})` : "stack not running");
  return 1;
}

async function main(args: string[]): Promise<number> {
  const [command, ...flags] = args;
  switch (command) {
    case "start":
      return await start(flags.includes("--fresh"));
    case "stop":
      return await stop();
    case "status":
      return await status();
    default:
      console.error("usage: bash scripts/stack.sh start [--fresh] | stop | status");
      return 2;
  }
}

try {
  Deno.exit(await main(Deno.args));
} catch (error) {
  console.error(`stack: ${error instanceof Error ? error.message : error}`);
  Deno.exit(1);
}
