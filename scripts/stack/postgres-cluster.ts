/**
 * The stack's throwaway PostgreSQL 15 cluster: Debian packages, initdb, config, pg_ctl, and
 * applying bootstrap.sql and the project's migrations.
 */
import { chown, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { ADMIN_ROLE, DB_PORT, REPO_DIR, type StackLayout } from "./stack-layout.ts";
import { isRoot, mustSucceed, runAsPostgres, runCommand } from "./run-command.ts";
import { STACK_ROOT_MARKER } from "./port-holder.ts";

export const PG_BIN = "/usr/lib/postgresql/15/bin";
// The render worker and the offline `local` providers shell out to these.
const MEDIA_PACKAGES = ["ffmpeg", "espeak-ng", "sox"];
const REQUIRED_PACKAGES = ["postgresql-15", "postgresql-15-cron", ...MEDIA_PACKAGES];

/** Installs missing Debian packages (Postgres and the workers' media tools) when root; otherwise says what to run and fails. */
export async function ensurePostgresPackages(): Promise<void> {
  const missing: string[] = [];
  for (const name of REQUIRED_PACKAGES) {
    const query = await runCommand("dpkg-query", ["-W", "-f=${Status}", name]).catch(() => null);
    if (!query || query.code !== 0 || !query.stdout.includes("install ok installed")) missing.push(name);
  }
  if (missing.length === 0) return;
  if (!isRoot) {
    throw new Error(
      `missing Debian packages; run:\n  sudo apt-get update && sudo apt-get install -y ${missing.join(" ")}`,
    );
  }
  console.log(`installing ${missing.join(", ")} ...`);
  const env = { ...Deno.env.toObject(), DEBIAN_FRONTEND: "noninteractive" };
  await mustSucceed("apt-get update", runCommand("apt-get", ["update"], { env, inherit: true }));
  await mustSucceed(
    "apt-get install",
    runCommand("apt-get", ["install", "-y", "--no-install-recommends", ...missing], { env, inherit: true }),
  );
}

/**
 * When root runs the stack from a checkout the postgres OS user cannot reach (say under /root),
 * the data and socket dirs move to /tmp/reelforge-pg-<hash of the stack dir>; same answer every time.
 */
export async function placePostgresDirs(layout: StackLayout): Promise<StackLayout> {
  await mkdir(layout.root, { recursive: true });
  if (!isRoot || (await runAsPostgres("test", ["-x", layout.root])).code === 0) return layout;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(layout.root)));
  const hash = Array.from(digest.subarray(0, 6), (byte) => byte.toString(16).padStart(2, "0")).join("");
  const outside = `/tmp/reelforge-pg-${hash}`;
  await mkdir(outside, { recursive: true, mode: 0o755 });
  await writeFile(join(outside, STACK_ROOT_MARKER), layout.root + "\n");
  console.error(`postgres cannot reach ${layout.root}: its data, socket and log live in ${outside}`);
  return {
    ...layout,
    pgData: join(outside, "pg"),
    socketDir: join(outside, "run"),
    postgresLog: join(outside, "postgres.log"),
  };
}

/** Files Postgres writes must belong to the user it runs as. */
async function ownForPostgres(path: string): Promise<void> {
  if (!isRoot) return;
  const user = await mustSucceed("id postgres", runCommand("id", ["-u", "postgres"]));
  const group = await mustSucceed("id postgres", runCommand("id", ["-g", "postgres"]));
  await chown(path, Number(user.stdout.trim()), Number(group.stdout.trim()));
}

/**
 * Creates the cluster unless the data dir already holds one. Its superuser is supabase_admin, as on
 * a hosted project; bootstrap.sql makes `postgres` the project's non-superuser owner role.
 */
export async function initCluster(layout: StackLayout): Promise<void> {
  await mkdir(layout.socketDir, { recursive: true });
  await ownForPostgres(layout.socketDir);
  if (existsSync(join(layout.pgData, "PG_VERSION"))) return;
  await mkdir(layout.pgData, { recursive: true, mode: 0o700 });
  await ownForPostgres(layout.pgData);
  const passwordFile = join(dirname(layout.pgData), "initdb-password.tmp");
  await writeFile(passwordFile, "postgres\n", { mode: 0o644 });
  try {
    await mustSucceed(
      "initdb",
      runAsPostgres(join(PG_BIN, "initdb"), [
        "-D",
        layout.pgData,
        `--username=${ADMIN_ROLE}`,
        `--pwfile=${passwordFile}`,
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C.UTF-8",
      ]),
    );
  } finally {
    await rm(passwordFile, { force: true });
  }
  const mainConf = join(layout.pgData, "postgresql.conf");
  await writeFile(mainConf, (await readFile(mainConf, "utf8")) + "\ninclude_if_exists = 'reelforge.conf'\n");
}

// Rewritten on every start so a moved stack dir still points at the right socket dir.
async function writeStackConfig(layout: StackLayout): Promise<void> {
  const settings = {
    listen_addresses: "'127.0.0.1'",
    port: String(DB_PORT),
    unix_socket_directories: `'${layout.socketDir}'`,
    max_connections: "300",
    shared_preload_libraries: "'pg_cron'",
    "cron.database_name": "'postgres'",
    // pg_cron connects like a client; the unix socket is trusted, so no password is needed.
    "cron.host": `'${layout.socketDir}'`,
    "cron.use_background_workers": "off",
    // Throwaway data: durability buys nothing here and costs test time.
    fsync: "off",
    synchronous_commit: "off",
    full_page_writes: "off",
  };
  const confPath = join(layout.pgData, "reelforge.conf");
  await writeFile(
    confPath,
    Object.entries(settings).map(([key, value]) => `${key} = ${value}`).join("\n") + "\n",
  );
  await ownForPostgres(confPath);
}

export async function isPostgresRunning(layout: StackLayout): Promise<boolean> {
  if (!existsSync(join(layout.pgData, "PG_VERSION"))) return false;
  return (await runAsPostgres(join(PG_BIN, "pg_ctl"), ["status", "-D", layout.pgData])).code === 0;
}

export async function startPostgres(layout: StackLayout): Promise<void> {
  await writeStackConfig(layout);
  const logFile = layout.postgresLog;
  await writeFile(logFile, "", { flag: "a" });
  await ownForPostgres(logFile);
  const started = await runAsPostgres(join(PG_BIN, "pg_ctl"), [
    "start",
    "-D",
    layout.pgData,
    "-l",
    logFile,
    "-w",
    "-t",
    "60",
  ]);
  if (started.code !== 0) {
    const tail = (await readFile(logFile, "utf8")).split("\n").slice(-20).join("\n");
    throw new Error(`pg_ctl start failed:\n${started.stdout}${started.stderr}\n--- ${logFile} ---\n${tail}`);
  }
}

export async function stopPostgres(layout: StackLayout): Promise<void> {
  await mustSucceed(
    "pg_ctl stop",
    runAsPostgres(join(PG_BIN, "pg_ctl"), ["stop", "-D", layout.pgData, "-m", "fast", "-w"]),
  );
}

/**
 * Applies bootstrap.sql as supabase_admin over the unix socket, in one transaction: what the platform
 * sets up before the project's first migration (roles, extensions, auth, net).
 */
export async function applyBootstrap(layout: StackLayout): Promise<void> {
  const hasAdmin = await runCommand(join(PG_BIN, "psql"), [
    "-h",
    layout.socketDir,
    "-p",
    String(DB_PORT),
    "-U",
    ADMIN_ROLE,
    "-d",
    "postgres",
    "-Atc",
    "select 1",
  ]);
  if (hasAdmin.code !== 0 && /role "supabase_admin" does not exist/.test(hasAdmin.stderr)) {
    throw new Error(
      `this stack's cluster was made with postgres as its superuser; recreate it: bash scripts/stack.sh start --fresh`,
    );
  }
  await mustSucceed(
    "bootstrap.sql",
    runCommand(join(PG_BIN, "psql"), [
      "-h",
      layout.socketDir,
      "-p",
      String(DB_PORT),
      "-U",
      ADMIN_ROLE,
      "-d",
      "postgres",
      "-v",
      "ON_ERROR_STOP=1",
      "-q",
      "--single-transaction",
      "-f",
      join(REPO_DIR, "scripts", "stack", "bootstrap.sql"),
    ], { env: { ...Deno.env.toObject(), PGOPTIONS: "--client-min-messages=warning" } }),
  );
}

/**
 * Applies pending migrations with the stock Supabase CLI, as a hosted project would get them: over
 * DB_URL, as `postgres` without superuser, so a migration that needs more fails here as it would there.
 */
export async function applyMigrations(dbUrl: string): Promise<void> {
  await mustSucceed(
    "supabase migration up",
    runCommand(
      join(REPO_DIR, "node_modules", ".bin", "supabase"),
      ["migration", "up", "--db-url", dbUrl, "--yes"],
      { cwd: REPO_DIR },
    ),
  );
}

export async function wipeDataDir(layout: StackLayout): Promise<void> {
  if ((await stat(layout.pgData).catch(() => null)) !== null) {
    await rm(layout.pgData, { recursive: true, force: true });
  }
}
