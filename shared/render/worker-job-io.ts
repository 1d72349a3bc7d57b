/**
 * The WorkerJobIo a worker hands each job: a scratch dir of its own, Storage, downloads streamed
 * to disk (a film's clips never sit in memory), and the lease's heartbeat and abort signal.
 */
import { createWriteStream } from "node:fs";
import { basename, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { PermanentTaskError } from "../errors.ts";
import type { ObjectStorage } from "../storage/storage.ts";
import type { WorkerJobIo } from "./worker-job.ts";

export interface JobIoOptions {
  workDir: string;
  storage: ObjectStorage;
  signal: AbortSignal;
  heartbeat(): Promise<void>;
  fetch?: typeof fetch;
}

/** Downloads `url` into `dir/fileName`; a 4xx is the caller's fault and never worth a retry. */
export async function downloadToFile(url: string, dir: string, fileName: string, signal: AbortSignal, fetcher: typeof fetch = fetch): Promise<string> {
  const target = join(dir, basename(fileName));
  const response = await fetcher(url, { signal });
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    const message = `could not download ${url}: HTTP ${response.status}`;
    if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
      throw new PermanentTaskError("input_unavailable", message);
    }
    throw new Error(message);
  }
  // deno-lint-ignore no-explicit-any
  await pipeline(Readable.fromWeb(response.body as any), createWriteStream(target), { signal });
  return target;
}

export function createJobIo(options: JobIoOptions): WorkerJobIo {
  return {
    workDir: options.workDir,
    storage: options.storage,
    signal: options.signal,
    heartbeat: options.heartbeat,
    fetchToFile: (url, fileName) => downloadToFile(url, options.workDir, fileName, options.signal, options.fetch),
  };
}
