/**
 * The two reference clones the project's is compared with: `pg_dump | psql`, one stream, indexes
 * built after the data; and pgcopydb, parallel COPY and CREATE INDEX at its default job counts.
 */
import { PG_BIN, runPipeline, runTimed, runTool, type ToolCpu } from "./run-tool.ts";

export interface ToolRun {
  seconds: number;
  /** CPU of the tool's own processes (not the database server's). */
  cpu: ToolCpu;
}

export interface PgcopydbRun extends ToolRun {
  version: string;
  /** Process counts it reported for each step, as it printed them. */
  parallelism: { copy: number | null; createIndex: number | null; vacuum: number | null };
  args: string[];
}

export async function pgDumpRestore(sourceUrl: string, schema: string, targetUrl: string): Promise<ToolRun> {
  const started = performance.now();
  const cpu = await runPipeline(
    `"${PG_BIN}/pg_dump" --schema="$2" -d "$1" | "${PG_BIN}/psql" -X -q -v ON_ERROR_STOP=1 -d "$3"`,
    [sourceUrl, schema, targetUrl],
  );
  return { seconds: (performance.now() - started) / 1000, cpu };
}

async function pgcopydbVersion(): Promise<string | null> {
  try {
    const { stdout } = await runTool("pgcopydb", ["--version"]);
    return stdout.match(/pgcopydb version (\S+)/)?.[1] ?? stdout.trim();
  } catch {
    return null;
  }
}

/** pgcopydb from Debian's package, installed when missing; null with the reason when it cannot be. */
export async function ensurePgcopydb(): Promise<{ version: string } | { unavailable: string }> {
  const present = await pgcopydbVersion();
  if (present) return { version: present };
  console.error("pgcopydb is not installed: apt-get install -y pgcopydb");
  try {
    await runTool("apt-get", ["update", "-qq"]);
    await runTool("apt-get", ["install", "-y", "-qq", "pgcopydb"]);
  } catch (error) {
    return {
      unavailable: `apt-get install pgcopydb failed: ${
        (error as Error).message.split("\n").slice(-3).join(" ")
      }`,
    };
  }
  const installed = await pgcopydbVersion();
  return installed ? { version: installed } : { unavailable: "pgcopydb installed but does not run" };
}

const processCount = (log: string, pattern: RegExp) => {
  const match = log.match(pattern);
  return match ? Number(match[1]) : null;
};

export async function pgcopydbClone(
  sourceUrl: string,
  schema: string,
  targetUrl: string,
  version: string,
): Promise<PgcopydbRun> {
  const workDir = await Deno.makeTempDir({ prefix: "reelforge-bench-pgcopydb-" });
  const filters = `${workDir}.filters.ini`;
  await Deno.writeTextFile(filters, `[include-only-schema]\n${schema}\n`);
  // --no-owner: the project's clone sets no owners either (everything belongs to the target's role).
  // --skip-extensions: the schema filter does not cover extensions, and pg_dump -n leaves them out too
  // (restoring the source's pg_cron into another database fails).
  // --no-acl --no-comments: the schema filter does not cover the grants on schema cron nor the
  // comment of "uuid-ossp" (a quoted name --skip-extensions misses) that the stack's bootstrap now
  // has; restoring them into an empty target fails. The dataset's tables have no grants or comments.
  const args = [
    "clone",
    "--source",
    sourceUrl,
    "--target",
    targetUrl,
    "--filters",
    filters,
    "--dir",
    `${workDir}/run`,
    "--no-owner",
    "--skip-extensions",
    "--no-acl",
    "--no-comments",
  ];
  try {
    const started = performance.now();
    // Its own session: on failure pgcopydb signals its whole process group, which would be ours.
    // setsid --wait waits for pgcopydb, which waits for its sub-processes: bash's times sees them all.
    const { stdout, stderr, cpu } = await runTimed(`setsid --wait pgcopydb "$@"`, args);
    const seconds = (performance.now() - started) / 1000;
    const log = stdout + stderr;
    return {
      seconds,
      cpu,
      version,
      parallelism: {
        copy: processCount(log, /copy data from source to target in (\d+) sub-process/),
        createIndex: processCount(log, /starting (\d+) CREATE INDEX process/),
        vacuum: processCount(log, /starting (\d+) VACUUM process/),
      },
      args: args.map((arg) =>
        ({
          [sourceUrl]: "<source>",
          [targetUrl]: "<target>",
          [filters]: "<filters.ini>",
          [`${workDir}/run`]: "<work dir>",
        })[arg] ?? arg
      ),
    };
  } finally {
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
    await Deno.remove(filters).catch(() => {});
  }
}
