/**
 * The local stack's render worker (scripts/render-worker.ts): one detached process, logs in
 * .stack/logs/render-worker.log, pid in .stack/render-worker.pid. It leads its own process group
 * so stopping it also ends any FFmpeg child it left running.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isProcessAlive } from "./gateway-process.ts";
import { REPO_DIR, type StackLayout } from "./stack-layout.ts";

const pidFile = (layout: StackLayout) => join(layout.root, "render-worker.pid");
export const renderWorkerLog = (layout: StackLayout) => join(layout.logs, "render-worker.log");

export async function readRenderWorkerPid(layout: StackLayout): Promise<number | null> {
  const pid = Number((await readFile(pidFile(layout), "utf8").catch(() => "")).trim());
  return Number.isInteger(pid) && pid > 0 && isProcessAlive(pid) && await isRenderWorker(pid) ? pid : null;
}

async function isRenderWorker(pid: number): Promise<boolean> {
  return (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).includes("render-worker.ts");
}

/** Spawns the worker and waits until it says it is claiming (it has connected to Postgres). */
export async function startRenderWorker(layout: StackLayout, env: Record<string, string>, timeoutMs = 60_000): Promise<number> {
  const log = renderWorkerLog(layout);
  const offset = (await stat(log).catch(() => null))?.size ?? 0;
  const logFd = openSync(log, "a");
  const child = spawn(Deno.execPath(), ["run", "-A", "--no-prompt", "--config", join(REPO_DIR, "deno.json"), join(REPO_DIR, "scripts", "render-worker.ts")], {
    cwd: REPO_DIR,
    env: { ...Deno.env.toObject(), ...env, NO_COLOR: "1" },
    detached: true,
    stdio: ["ignore", logFd, logFd],
  });
  closeSync(logFd);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not spawn the render worker");
  await writeFile(pidFile(layout), `${pid}\n`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && isProcessAlive(pid)) {
    const text = (await readFile(log, "utf8").catch(() => "")).slice(offset);
    if (text.includes(" claiming ")) return pid;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stopRenderWorker(layout);
  const tail = (await readFile(log, "utf8").catch(() => "")).slice(offset).split("\n").slice(-30).join("\n");
  throw new Error(`render worker did not start within ${timeoutMs / 1000} s\n--- ${log} ---\n${tail}`);
}

/** SIGTERM (running jobs get the worker's grace period), then SIGKILL of the whole group. */
export async function stopRenderWorker(layout: StackLayout): Promise<boolean> {
  const pid = await readRenderWorkerPid(layout);
  await rm(pidFile(layout), { force: true });
  if (pid === null) return false;
  const signalGroup = (signal: Deno.Signal) => {
    try {
      Deno.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  };
  signalGroup("SIGTERM");
  const deadline = Date.now() + 25_000;
  while (isProcessAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  signalGroup("SIGKILL");
  return true;
}
