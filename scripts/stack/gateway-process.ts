/**
 * Starting and stopping the detached gateway process. It leads its own process group, so
 * stopping it also takes down every function worker it spawned.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { API_URL, REPO_DIR, type StackLayout } from "./stack-layout.ts";

export async function readGatewayPid(layout: StackLayout): Promise<number | null> {
  const text = await readFile(layout.gatewayPidFile, "utf8").catch(() => null);
  const pid = Number(text?.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

export function isProcessAlive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/** Whether a gateway answers at apiUrl (by default the one this process's ports name). */
export async function isGatewayHealthy(apiUrl = API_URL): Promise<boolean> {
  try {
    const response = await fetch(`${apiUrl}/_stack/health`, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Spawns the gateway detached (it outlives this CLI) and waits for its health endpoint. */
export async function startGateway(
  layout: StackLayout,
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<number> {
  const logFile = join(layout.logs, "gateway.log");
  const logFd = openSync(logFile, "a");
  const child = spawn(Deno.execPath(), [
    "run",
    "-A",
    "--no-prompt",
    "--config",
    join(REPO_DIR, "deno.json"),
    join(REPO_DIR, "scripts", "stack", "gateway.ts"),
  ], {
    cwd: REPO_DIR,
    env: { ...Deno.env.toObject(), ...env, NO_COLOR: "1" },
    detached: true,
    stdio: ["ignore", logFd, logFd],
  });
  closeSync(logFd);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not spawn the gateway");
  await writeFile(layout.gatewayPidFile, `${pid}\n`);

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isGatewayHealthy()) return pid;
    if (!isProcessAlive(pid)) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await killGatewayGroup(pid);
  await rm(layout.gatewayPidFile, { force: true });
  const tail = (await readFile(logFile, "utf8").catch(() => "")).split("\n").slice(-30).join("\n");
  throw new Error(`gateway did not become healthy within ${timeoutMs / 1000} s\n--- ${logFile} ---\n${tail}`);
}

/** SIGTERM to the gateway's process group, SIGKILL whatever is left after a grace period. */
export async function killGatewayGroup(pid: number): Promise<void> {
  const signalGroup = (signal: Deno.Signal) => {
    try {
      Deno.kill(-pid, signal);
    } catch {
      // No such group: already gone.
    }
  };
  signalGroup("SIGTERM");
  const deadline = Date.now() + 5000;
  while (isProcessAlive(pid) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  signalGroup("SIGKILL");
}

/** Stops the gateway in the pid file; false when none was running. */
export async function stopGateway(layout: StackLayout): Promise<boolean> {
  const pid = await readGatewayPid(layout);
  if (pid === null) return false;
  const wasAlive = isProcessAlive(pid);
  // A stale pid file may name a pid reused by someone else: leave that process alone. While any
  // worker of a dead gateway lives, its group id keeps the pid from being reused.
  if (!wasAlive || await isGatewayCommand(pid)) await killGatewayGroup(pid);
  await rm(layout.gatewayPidFile, { force: true });
  return wasAlive;
}

async function isGatewayCommand(pid: number): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return cmdline.includes("gateway.ts");
}
