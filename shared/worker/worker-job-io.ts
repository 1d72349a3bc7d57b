/**
 * The WorkerJobIo a worker hands each job: a scratch dir of its own, Storage, downloads streamed
 * to disk (a film's clips never sit in memory; our own objects through Storage's API, the job
 * owner's only, and nothing else for a job that has an owner), and the lease's heartbeat and
 * abort signal.
 */
import { createWriteStream } from "node:fs";
import { basename, join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { PermanentTaskError } from "../errors.ts";
import { readableObject } from "../storage/owner-objects.ts";
import type { MaySign, StorageObjectRef } from "../storage/signed-urls.ts";
import type { ObjectStorage, ObjectStream } from "../storage/storage.ts";
import type { WorkerJobIo } from "./worker-job.ts";

export interface JobIoOptions {
  workDir: string;
  storage: ObjectStorage;
  signal: AbortSignal;
  heartbeat(): Promise<void>;
  /**
   * Which of our objects the job may read (owner-objects.ts `taskObjects` of its task's owner): a
   * job's inputs come from providers' and searches' answers too, which may name anyone's object.
   */
  readable: MaySign;
  /**
   * Whether a URL outside our Storage may be fetched: only for a job with no owner, which the
   * service role enqueued. A tenant's inputs are always objects of ours (the server copies every
   * provider output and search result into Storage before a job names it), so anything else in
   * its payload is refused, not fetched from wherever it points (the worker's own network, a
   * cloud's metadata address).
   */
  fetchesElsewhere: boolean;
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
  url: string,
  dir: string,
  fileName: string,
  signal: AbortSignal,
  fetcher: typeof fetch = fetch,
  maxBytes = MAX_DOWNLOAD_BYTES,
): Promise<string> {
  const response = await fetcher(url, { signal });
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    const message = `could not download ${url}: HTTP ${response.status}`;
    if (
      response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429
    ) {
      throw new PermanentTaskError("input_unavailable", message);
    }
    throw new Error(message);
  }
  const length = response.headers.get("content-length");
  return await writeLimited(
    url,
    { body: response.body, size: length === null ? null : Number(length) },
    join(dir, basename(fileName)),
    signal,
    maxBytes,
  );
}

/**
 * Downloads an object of our own Storage (an address as storage.publicUrl writes it) with the
 * service role: media is private, so its public-shaped address does not serve, and a signed URL
 * made at submit time could expire while the job waits in the queue.
 */
export async function downloadObjectToFile(
  storage: ObjectStorage,
  object: StorageObjectRef,
  dir: string,
  fileName: string,
  signal: AbortSignal,
  maxBytes = MAX_DOWNLOAD_BYTES,
): Promise<string> {
  const stream = await storage.downloadStream(object.bucket, object.path);
  const name = `${object.bucket}/${object.path}`;
  if (!stream) {
    throw new PermanentTaskError("input_unavailable", `could not download ${name}: not in Storage`);
  }
  return await writeLimited(name, stream, join(dir, basename(fileName)), signal, maxBytes);
}

async function writeLimited(
  name: string,
  stream: ObjectStream,
  target: string,
  signal: AbortSignal,
  maxBytes: number,
): Promise<string> {
  const tooLarge = () =>
    new PermanentTaskError("input_too_large", `${name} is over the ${maxBytes}-byte input limit`);
  if ((stream.size ?? 0) > maxBytes) {
    await stream.body.cancel();
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
  await pipeline(Readable.fromWeb(stream.body as any), counted, createWriteStream(target), { signal });
  return target;
}

export function createJobIo(options: JobIoOptions): WorkerJobIo {
  return {
    workDir: options.workDir,
    storage: options.storage,
    signal: options.signal,
    heartbeat: options.heartbeat,
    fetchToFile: async (url, fileName) => {
      const ours = readableObject(options.storage, url, options.readable);
      if (ours === "not_yours") {
        throw new PermanentTaskError(
          "input_not_yours",
          `input ${basename(fileName)} names a file in our Storage that is not the owner's`,
        );
      }
      if (ours) {
        return await downloadObjectToFile(options.storage, ours, options.workDir, fileName, options.signal);
      }
      if (!options.fetchesElsewhere) {
        throw new PermanentTaskError(
          "input_not_ours",
          `input ${
            basename(fileName)
          } is not a file in our Storage: a user's job reads only the owner's files there`,
        );
      }
      return await downloadToFile(url, options.workDir, fileName, options.signal, options.fetch);
    },
  };
}
