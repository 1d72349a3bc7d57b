/**
 * Who holds a port the stack needs: another checkout's stack (a second clone, a demo left
 * running), or something else. `stack start` says which, and how to stop it, instead of failing
 * later with Postgres's log or a gateway that cannot bind.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";

/** The Postgres data dir outside the stack (when postgres cannot reach it) names its stack here. */
export const STACK_ROOT_MARKER = "stack-root";

export interface PortHolder {
  port: number;
  pid: number;
  command: string;
  /** The holder's stack directory when it is a Reelforge stack, else null. */
  stackDir: string | null;
}

/** The process listening on 127.0.0.1:`port`, or null when the port is free. */
export async function findPortHolder(port: number): Promise<PortHolder | null> {
  const listening = await promisify(execFile)("ss", ["-ltnpH", `sport = :${port}`]);
  if (!listening.stdout.trim()) return null;
  const pid = Number(listening.stdout.match(/pid=(\d+)/)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0) {
    return { port, pid: 0, command: "a process this user cannot see", stackDir: null };
  }
  const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0").filter(Boolean);
  return { port, pid, command: argv.join(" ") || `pid ${pid}`, stackDir: await stackDirOf(pid, argv) };
}

async function stackDirOf(pid: number, argv: string[]): Promise<string | null> {
  const environ = (await readFile(`/proc/${pid}/environ`, "utf8").catch(() => "")).split("\0");
  const fromEnv = environ.find((entry) => entry.startsWith("REELFORGE_STACK_DIR="))?.slice(
    "REELFORGE_STACK_DIR=".length,
  );
  if (fromEnv) return fromEnv;
  const dataDir = argv[argv.indexOf("-D") + 1];
  if (!argv.includes("-D") || !dataDir || basename(dataDir) !== "pg") return null;
  const outside = dirname(dataDir);
  if (basename(outside).startsWith("reelforge-pg-")) {
    return (await readFile(join(outside, STACK_ROOT_MARKER), "utf8").catch(() => "")).trim() || null;
  }
  // The data dir of a stack postgres can reach: <stack>/pg.
  return outside;
}

/** What to tell the user about `holder`, given the stack this command manages. */
export function describePortHolder(holder: PortHolder, ownStackDir: string): string {
  const use = `port ${holder.port} is in use by ${holder.command} (pid ${holder.pid})`;
  const elsewhere =
    "or start this stack on other ports: REELFORGE_API_PORT=... REELFORGE_DB_PORT=... npm run stack:start";
  if (holder.stackDir === null) return `${use}; free it, ${elsewhere}`;
  if (holder.stackDir === ownStackDir) {
    return `${use}, a process of this very stack that stop could not end; kill ${holder.pid}`;
  }
  const checkout = basename(holder.stackDir) === ".stack" ? dirname(holder.stackDir) : null;
  const stopIt = checkout
    ? `cd ${checkout} && npm run stack:stop`
    : `REELFORGE_STACK_DIR=${holder.stackDir} npm run stack:stop`;
  return `${use}: another Reelforge stack, in ${holder.stackDir}. Stop it with: ${stopIt}; ${elsewhere}`;
}
