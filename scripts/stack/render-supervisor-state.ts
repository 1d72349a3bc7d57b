/**
 * The render supervisor's state file (.stack/render-workers.json): what the supervisor writes
 * after every change, and what `stack status`, the admin API and tests read. Written by rename, so
 * a reader never sees half a file.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { StackLayout } from "./stack-layout.ts";

/** One supervised worker process (a slot keeps its number across restarts). */
export interface RenderWorkerSlot {
  slot: number;
  /** Null while it is down (crashed and waiting for its restart, or paused). */
  pid: number | null;
  startedAt: string | null;
  /** It logged that it is claiming (connected to Postgres). */
  ready: boolean;
  restarts: number;
  crashesInARow: number;
  lastExit: { code: number | null; signal: string | null; at: string } | null;
  nextStartAt: string | null;
}

export interface RenderSupervisorState {
  supervisorPid: number;
  /** Paused: workers stopped on purpose and not restarted (admin API / SIGUSR1). */
  paused: boolean;
  workers: RenderWorkerSlot[];
}

/** What the admin API asks of the supervisor ({ paused }); the supervisor reads it a few times a second. */
export const renderSupervisorControlFile = (layout: StackLayout) =>
  join(layout.root, "render-workers.control.json");
export const renderSupervisorStateFile = (layout: StackLayout) => join(layout.root, "render-workers.json");
export const renderSupervisorPidFile = (layout: StackLayout) => join(layout.root, "render-supervisor.pid");
export const renderWorkerLog = (layout: StackLayout) => join(layout.logs, "render-worker.log");

/** The last state written, or null when no supervisor ever wrote one. */
export async function readRenderSupervisorState(layout: StackLayout): Promise<RenderSupervisorState | null> {
  const text = await readFile(renderSupervisorStateFile(layout), "utf8").catch(() => null);
  return text === null ? null : JSON.parse(text);
}

export async function writeRenderSupervisorState(
  layout: StackLayout,
  state: RenderSupervisorState,
): Promise<void> {
  await writeJson(renderSupervisorStateFile(layout), state);
}

/** Whether the supervisor is asked to keep its workers stopped. */
export async function readPauseRequest(layout: StackLayout): Promise<boolean> {
  const text = await readFile(renderSupervisorControlFile(layout), "utf8").catch(() => null);
  return text === null ? false : JSON.parse(text).paused === true;
}

export async function writePauseRequest(layout: StackLayout, paused: boolean): Promise<void> {
  await writeJson(renderSupervisorControlFile(layout), { paused });
}

async function writeJson(file: string, value: unknown): Promise<void> {
  // A temp name of its own per write: two writes at once must not rename each other's file.
  const temp = `${file}.${crypto.randomUUID()}.tmp`;
  await writeFile(temp, JSON.stringify(value, null, 2) + "\n");
  await rename(temp, file);
}
