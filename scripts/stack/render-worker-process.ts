/**
 * Starting and stopping the local stack's render workers: `stack start` runs the render
 * supervisor (render-supervisor.ts) detached, pid in .stack/render-supervisor.pid, and waits
 * until each of its workers is claiming; `stack stop` ends the supervisor and, should it have
 * died first, the workers it left behind.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isProcessAlive } from "./gateway-process.ts";
import {
  readRenderSupervisorState,
  renderSupervisorControlFile,
  renderSupervisorPidFile,
  renderSupervisorStateFile,
  renderWorkerLog,
} from "./render-supervisor-state.ts";
import { REPO_DIR, type StackLayout } from "./stack-layout.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The supervisor's pid while it runs, else null. */
export async function readRenderSupervisorPid(layout: StackLayout): Promise<number | null> {
  const pid = Number((await readFile(renderSupervisorPidFile(layout), "utf8").catch(() => "")).trim());
  if (!Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid)) return null;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return cmdline.includes("render-supervisor.ts") ? pid : null;
}

/** Spawns the supervisor with `workers` worker processes and waits until every one is claiming. */
export async function startRenderSupervisor(
  layout: StackLayout,
  env: Record<string, string>,
  workers: number,
  timeoutMs = 90_000,
): Promise<number> {
  await rm(renderSupervisorStateFile(layout), { force: true });
  await rm(renderSupervisorControlFile(layout), { force: true });
  const logFd = openSync(renderWorkerLog(layout), "a");
  const child = spawn(Deno.execPath(), [
    "run",
    "-A",
    "--no-prompt",
    "--config",
    join(REPO_DIR, "deno.json"),
    join(REPO_DIR, "scripts", "stack", "render-supervisor.ts"),
  ], {
    cwd: REPO_DIR,
    env: {
      ...Deno.env.toObject(),
      ...env,
      REELFORGE_STACK_DIR: layout.root,
      REELFORGE_RENDER_WORKERS: String(workers),
      NO_COLOR: "1",
    },
    detached: true,
    stdio: ["ignore", logFd, logFd],
  });
  closeSync(logFd);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not spawn the render supervisor");
  await writeFile(renderSupervisorPidFile(layout), `${pid}\n`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && isProcessAlive(pid)) {
    const state = await readRenderSupervisorState(layout).catch(() => null);
    if (
      state?.supervisorPid === pid && state.workers.length === workers && state.workers.every((w) => w.ready)
    ) return pid;
    await sleep(200);
  }
  await stopRenderSupervisor(layout);
  const tail = (await readFile(renderWorkerLog(layout), "utf8").catch(() => "")).split("\n").slice(-30).join(
    "\n",
  );
  throw new Error(
    `render workers did not start within ${timeoutMs / 1000} s\n--- ${renderWorkerLog(layout)} ---\n${tail}`,
  );
}

/** SIGTERM to the supervisor (it stops its workers), then SIGKILL to anything left. */
export async function stopRenderSupervisor(layout: StackLayout): Promise<boolean> {
  const pid = await readRenderSupervisorPid(layout);
  await rm(renderSupervisorPidFile(layout), { force: true });
  if (pid !== null) {
    signal(pid, "SIGTERM");
    const deadline = Date.now() + 30_000;
    while (isProcessAlive(pid) && Date.now() < deadline) await sleep(100);
    signal(pid, "SIGKILL");
  }
  // A supervisor killed outright leaves its workers running: end their groups too.
  const workers = (await readRenderSupervisorState(layout).catch(() => null))?.workers ?? [];
  for (const worker of workers) {
    if (worker.pid !== null && await isRenderWorker(worker.pid)) signal(-worker.pid, "SIGKILL");
  }
  // The unsupervised worker earlier stacks started (its pid file was render-worker.pid).
  const legacyFile = join(layout.root, "render-worker.pid");
  const legacy = Number((await readFile(legacyFile, "utf8").catch(() => "")).trim());
  if (Number.isInteger(legacy) && legacy > 0 && await isRenderWorker(legacy)) signal(-legacy, "SIGTERM");
  await rm(legacyFile, { force: true });
  return pid !== null;
}

/** Whether pid is one of our render workers (pids are reused). */
export async function isRenderWorker(pid: number): Promise<boolean> {
  return isProcessAlive(pid) &&
    (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).includes("render-worker.ts");
}

function signal(pid: number, name: Deno.Signal): void {
  try {
    Deno.kill(pid, name);
  } catch {
    // Already gone.
  }
}
