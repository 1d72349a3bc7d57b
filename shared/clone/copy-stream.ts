import { Buffer } from "node:buffer";
import type { Readable, Writable } from "node:stream";
import type { Sql, TransactionSql } from "../db/client.ts";

/** A pool or a transaction: where a COPY runs. */
type Session = Sql | TransactionSql;

/** The parts of a postgres.js 3.4.9 query object this module relies on beyond the public types. */
interface CopyQuery {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  active: boolean;
  canceller: ((query: CopyQuery) => Promise<void>) | null;
  readable(): Promise<Readable>;
  writable(): Promise<Writable>;
}

interface RunningCopy {
  query: CopyQuery;
  /** The server's verdict: the row count of COPY's CommandComplete, or its error. */
  completed: Promise<number>;
  settled: boolean;
}

// Rows arrive one CopyData message each; writing them in batches saves a socket write per row.
const BATCH_BYTES = 64 * 1024;

/**
 * Streams `copy (...) to stdout` on `source` into `copy ... from stdin` on `target`, with
 * back-pressure both ways, and returns the row count the target's COPY reported. On any failure
 * the target's COPY is aborted (so its transaction can roll back) and the source's COPY is
 * cancelled and drained (so its connection stays usable), then the first error is thrown.
 */
export async function pipeCopy(
  source: Session,
  copyOut: string,
  target: Session,
  copyIn: string,
): Promise<number> {
  const into = startCopy(target, copyIn);
  const writable = await into.query.writable();
  let out: RunningCopy | undefined;
  let readable: Readable | undefined;
  try {
    out = startCopy(source, copyOut);
    readable = await out.query.readable();
    await pump(readable, writable, into.completed);
    await out.completed;
    return await into.completed;
  } catch (error) {
    if (!writable.destroyed) writable.destroy(error instanceof Error ? error : new Error(String(error)));
    await into.completed.catch(() => {});
    if (out && readable) await drainCopyOut(out, readable);
    throw error;
  }
}

/**
 * Sends the query and hooks its settlement. postgres.js resolves a COPY query twice: first with the
 * stream, then (ignored) with the result at ReadyForQuery. That second call is the only sign the
 * server accepted the data: an error after `end()` never reaches the writable
 * (porsager/postgres#1173), so waiting on the stream alone could hang the transaction forever.
 */
function startCopy(session: Session, text: string): RunningCopy {
  // postgres.js internals beyond its public types (CopyQuery above).
  const query = session.unsafe(text) as unknown as CopyQuery;
  const copy = { query, settled: false } as RunningCopy;
  let streamed = false;
  copy.completed = new Promise<number>((resolve, reject) => {
    const { resolve: resolveQuery, reject: rejectQuery } = query;
    query.resolve = (value) => {
      resolveQuery(value);
      if (!streamed) return void (streamed = true);
      copy.settled = true;
      resolve(Number((value as { count?: number | null }).count ?? 0));
    };
    query.reject = (error) => {
      rejectQuery(error);
      copy.settled = true;
      reject(error);
    };
  });
  copy.completed.catch(() => {});
  return copy;
}

function pump(readable: Readable, writable: Writable, targetCompleted: Promise<number>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let batch: Buffer[] = [];
    let batchBytes = 0;
    const flush = () => {
      if (batchBytes === 0) return true;
      const data = batch.length === 1 ? batch[0] : Buffer.concat(batch, batchBytes);
      batch = [];
      batchBytes = 0;
      return writable.write(data);
    };
    readable.on("data", (chunk: Buffer) => {
      batch.push(chunk);
      batchBytes += chunk.length;
      if (batchBytes >= BATCH_BYTES && !flush()) readable.pause();
    });
    writable.on("drain", () => readable.resume());
    readable.once("end", () => {
      resumeSocket(readable);
      flush();
      writable.end();
      targetCompleted.then(() => resolve(), reject);
    });
    // `on`, not `once`: a stream that errors twice must not crash the process.
    readable.on("error", reject);
    writable.on("error", reject);
    // A target that fails mid-stream may report it only through the query.
    targetCompleted.catch(reject);
  });
}

/**
 * postgres.js pauses the socket when the readable is full; if CopyDone arrives in the same packet,
 * nothing resumes it and the connection hangs on its next query (porsager/postgres#1016, #917).
 * The readable's `_read` is postgres.js's `socket.resume()`; calling it once more is harmless.
 */
function resumeSocket(readable: Readable): void {
  try {
    readable._read(0);
  } catch {
    // The connection is gone (its socket is null): nothing left to resume.
  }
}

/** Stops a source COPY that is no longer wanted and reads it to its end, so its connection is reusable. */
async function drainCopyOut(copy: RunningCopy, readable: Readable): Promise<void> {
  let cancelling: Promise<void> | undefined;
  if (!copy.settled && copy.query.canceller) {
    // postgres.js marks the query inactive once it hands out the stream, and cancelling then only
    // records the wish; marked active again, it sends the server a real CancelRequest. (Called
    // directly rather than through cancel(), which drops the promise and so its failure.)
    copy.query.active = true;
    cancelling = copy.query.canceller(copy.query).catch(() => {});
    copy.query.canceller = null;
  }
  readable.removeAllListeners("data");
  readable.on("error", () => {});
  readable.resume();
  resumeSocket(readable);
  await copy.completed.catch(() => {});
  // Once the cancel connection closes, the server has signalled the backend; a late signal could
  // otherwise cancel whatever query runs next on this connection.
  await cancelling;
}
