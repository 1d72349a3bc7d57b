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

export const renderSupervisorStateFile = (layout: StackLayout) => join(layout.root, "render-workers.json");
export const renderSupervisorPidFile = (layout: StackLayout) => join(layout.root, "render-supervisor.pid");
export const renderWorkerLog = (layout: StackLayout) => join(layout.logs, "render-worker.log");

/** The last state written, or null when no supervisor ever wrote one. */
export async function readRenderSupervisorState(layout: StackLayout): Promise<RenderSupervisorState | null> {
  const text = await readFile(renderSupervisorStateFile(layout), "utf8").catch(() => null);
  return text === null ? null : JSON.parse(text);
}

export async function writeRenderSupervisorState(layout: StackLayout, state: RenderSupervisorState): Promise<void> {
  const file = renderSupervisorStateFile(layout);
  await writeFile(`${file}.tmp`, JSON.stringify(state, null, 2) + "\n");
  await rename(`${file}.tmp`, file);
}
