/**
 * The local stack's render supervisor: a small detached process that `stack start` runs and
 * `stack stop` ends. It keeps REELFORGE_RENDER_WORKERS render worker processes
 * (scripts/render-worker.ts) running: one that exits — a crash, an OOM kill, `kill -9` — is
 * started again after restartDelayMs (0.5 s doubling to 10 s, reset after a healthy run). The
 * dead worker's jobs need nothing from here: its liveness locks died with its connection, so
 * engine.claim_next_task hands them to the next claim at once.
 *
 * SIGTERM/SIGINT stop the workers (they finish or give back their jobs) and exit. The control file
 * (.stack/render-workers.control.json, written by the admin API) pauses it — workers stopped, none
 * restarted — and resumes it. (Not SIGUSR1: Deno opens its inspector on that signal.)
 * Each worker leads its own process group, so stopping it also ends any FFmpeg it left running.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { open, stat } from "node:fs/promises";
import { join } from "node:path";
import { isProcessAlive } from "./gateway-process.ts";
import { crashesAfterRun, restartDelayMs } from "./restart-backoff.ts";
import {
  readPauseRequest,
  renderWorkerLog,
  type RenderWorkerSlot,
  writeRenderSupervisorState,
} from "./render-supervisor-state.ts";
import { REPO_DIR, stackLayout } from "./stack-layout.ts";

const env = Deno.env.toObject();
const layout = stackLayout(env);
const count = Math.max(1, Number(env.REELFORGE_RENDER_WORKERS || 1));
const log = (line: string) => console.log(`${new Date().toISOString()} supervisor: ${line}`);

interface Slot extends RenderWorkerSlot {
  child: ChildProcess | null;
  timer: ReturnType<typeof setTimeout> | null;
  startedMs: number;
}

const slots: Slot[] = Array.from({ length: count }, (_, i) => ({
  slot: i + 1,
  pid: null,
  startedAt: null,
  ready: false,
  restarts: 0,
  crashesInARow: 0,
  lastExit: null,
  nextStartAt: null,
  child: null,
  timer: null,
  startedMs: 0,
}));
let paused = false;
let stopping = false;

function saveState(): Promise<void> {
  const workers = slots.map(({ child: _c, timer: _t, startedMs: _s, ...slot }) => slot);
  return writeRenderSupervisorState(layout, { supervisorPid: Deno.pid, paused, workers }).catch((error) =>
    log(`state not written: ${error}`)
  );
}

async function startWorker(slot: Slot): Promise<void> {
  slot.timer = null;
  slot.nextStartAt = null;
  const logFile = renderWorkerLog(layout);
  const offset = (await stat(logFile).catch(() => null))?.size ?? 0;
  const fd = openSync(logFile, "a");
  const child = spawn(Deno.execPath(), [
    "run",
    "-A",
    "--no-prompt",
    "--config",
    join(REPO_DIR, "deno.json"),
    join(REPO_DIR, "scripts", "render-worker.ts"),
  ], {
    cwd: REPO_DIR,
    env: { ...env, NO_COLOR: "1" },
    detached: true,
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  const pid = child.pid;
  if (pid === undefined) {
    onExit(slot, null, null, "spawn failed");
    return;
  }
  Object.assign(slot, {
    child,
    pid,
    startedAt: new Date().toISOString(),
    startedMs: Date.now(),
    ready: false,
  });
  child.on("exit", (code, signal) => onExit(slot, code, signal));
  log(`worker ${slot.slot} started (pid ${pid})`);
  await saveState();
  // Ready once its own "<worker id> claiming" line shows up: the id carries its pid.
  while (slot.pid === pid && !slot.ready) {
    const text = await readFrom(logFile, offset);
    if (text.split("\n").some((line) => line.includes(`:${pid}:`) && line.includes(" claiming "))) {
      slot.ready = true;
      await saveState();
    } else await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The log from `offset` on (up to 1 MB): the log outlives stacks, so never read it all. */
async function readFrom(file: string, offset: number): Promise<string> {
  const handle = await open(file, "r").catch(() => null);
  if (!handle) return "";
  try {
    const buffer = new Uint8Array(1 << 20);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    return new TextDecoder().decode(buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

function onExit(slot: Slot, code: number | null, signal: string | null, reason?: string): void {
  const ranMs = Date.now() - slot.startedMs;
  Object.assign(slot, {
    child: null,
    pid: null,
    ready: false,
    lastExit: { code, signal, at: new Date().toISOString() },
  });
  if (stopping || paused) {
    void saveState();
    return;
  }
  // A render worker is meant to run until told to stop: any exit is a crash.
  slot.crashesInARow = crashesAfterRun(slot.crashesInARow, ranMs);
  const delay = restartDelayMs(slot.crashesInARow);
  slot.nextStartAt = new Date(Date.now() + delay).toISOString();
  log(
    `worker ${slot.slot} exited (${
      reason ?? `code ${code}, signal ${signal}`
    }) after ${ranMs} ms; restart in ${delay} ms`,
  );
  slot.timer = setTimeout(() => {
    slot.restarts++;
    void startWorker(slot);
  }, delay);
  void saveState();
}

/**
 * SIGTERM to the worker (its jobs get the worker's grace period), then SIGKILL to its group. Not
 * SIGTERM to the group: FFmpeg quits on it, so every running job lost its encode or probe at once
 * and a probe killed so failed its job for good, its grace period never used.
 */
async function stopWorker(slot: Slot): Promise<void> {
  if (slot.timer) clearTimeout(slot.timer);
  slot.timer = null;
  slot.nextStartAt = null;
  const pid = slot.pid;
  if (pid === null) return;
  const signal = (target: number, name: Deno.Signal) => {
    try {
      Deno.kill(target, name);
    } catch {
      // Already gone.
    }
  };
  const signalGroup = (name: Deno.Signal) => signal(-pid, name);
  signal(pid, "SIGTERM");
  const deadline = Date.now() + 25_000;
  while (isProcessAlive(pid) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  signalGroup("SIGKILL");
}

async function pause(): Promise<void> {
  if (paused || stopping) return;
  paused = true;
  log("paused: stopping workers");
  await Promise.all(slots.map(stopWorker));
  await saveState();
}

async function resume(): Promise<void> {
  if (!paused || stopping) return;
  paused = false;
  log("resumed");
  for (const slot of slots) {
    slot.crashesInARow = 0;
    if (slot.pid === null) void startWorker(slot);
  }
  await saveState();
}

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping workers`);
  await Promise.all(slots.map(stopWorker));
  await saveState();
  Deno.exit(0);
}

Deno.addSignalListener("SIGTERM", () => void shutdown("SIGTERM"));
Deno.addSignalListener("SIGINT", () => void shutdown("SIGINT"));
log(`supervising ${count} render worker(s)`);
paused = await readPauseRequest(layout).catch(() => false);
await saveState();
if (!paused) { for (const slot of slots) void startWorker(slot); }
// One change at a time: a pause finishes stopping its workers before a resume is looked at.
for (;;) {
  await new Promise((resolve) => setTimeout(resolve, 300));
  const wanted = await readPauseRequest(layout).catch(() => paused);
  if (wanted && !paused) await pause();
  else if (!wanted && paused) await resume();
}
