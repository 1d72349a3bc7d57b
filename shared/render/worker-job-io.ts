/**
 * The WorkerJobIo a worker hands each job: a scratch dir of its own, Storage, downloads streamed
 * to disk (a film's clips never sit in memory), and the lease's heartbeat and abort signal.
 */
import { createWriteStream } from "node:fs";
import { basename, join } from "node:path";
import { Readable, Transform } from "node:stream";
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

/**
 * The most one input may weigh: render inputs are a film's clips and tracks in our Storage (the
 * server builds every render payload), so anything larger is a bug or a wrong URL, not media to
 * fill the worker's disk with.
 */
export const MAX_DOWNLOAD_BYTES = 4 * 1024 ** 3;

/** Downloads `url` into `dir/fileName`; a 4xx is the caller's fault and never worth a retry. */
export async function downloadToFile(
  url: string, dir: string, fileName: string, signal: AbortSignal, fetcher: typeof fetch = fetch, maxBytes = MAX_DOWNLOAD_BYTES,
): Promise<string> {
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
  const tooLarge = () => new PermanentTaskError("input_too_large", `${url} is over the ${maxBytes}-byte input limit`);
  if (Number(response.headers.get("content-length") ?? 0) > maxBytes) {
    await response.body.cancel();
    throw tooLarge();
  }
  let bytes = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(bytes > maxBytes ? tooLarge() : null, chunk);
    },
  });
  // deno-lint-ignore no-explicit-any
  await pipeline(Readable.fromWeb(response.body as any), counted, createWriteStream(target), { signal });
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
