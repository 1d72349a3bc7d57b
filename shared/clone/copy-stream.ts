import type { Writable } from "node:stream";
import type { Sql, TransactionSql } from "../db/client.ts";
import type { CopySink } from "./pg-wire.ts";

/** A pool or a transaction: where the target's COPY runs. */
type Session = Sql | TransactionSql;

/** Where a COPY's rows come from: a `COPY ... TO STDOUT` relayed in blocks (pg-wire.ts). */
export interface CopySource {
  copyOut(text: string, sink: CopySink): Promise<number>;
}

/** The parts of a postgres.js 3.4.9 query object this module relies on beyond the public types. */
interface CopyQuery {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  writable(): Promise<Writable>;
}

interface RunningCopy {
  query: CopyQuery;
  /** The server's verdict: the row count of COPY's CommandComplete, or its error. */
  completed: Promise<number>;
}

/*
 * Blocks are gathered in one buffer per copy, reused, until there are WRITE_BYTES (a block that
 * large goes as it is), then handed to postgres.js in PIECE_BYTES writes. postgres.js copies each
 * write into a CopyData message of its own (the one copy left; its socket is not ours to write
 * to), and V8 frees those buffers only at a collection, which it runs about every thousand
 * writes here: the smaller the write, the less dead memory in between. Measured with
 * bench/clone/relay-memory.ts (2 lanes, 350 MB, RSS growth): 256 KB writes +60..66 MiB, 16 KB
 * +49..50 MiB, 8 KB +38..44 MiB for 10-20% more relay CPU than 256 KB (still ~20% less than
 * before the read buffer was reused); in the 1 GB bench 16 KB peaked at 136..146 MiB.
 */
const WRITE_BYTES = 128 * 1024;
const BATCH_BYTES = 2 * WRITE_BYTES;
const PIECE_BYTES = 8 * 1024;

/**
 * Streams `copy (...) to stdout` on `source` into `copy ... from stdin` on `target` in large
 * blocks, with back-pressure both ways (the next block is read once the last write reached the
 * target's socket), and returns the row count the target's COPY reported.
 * The source's bytes are the rows' text without message framing, cut wherever a socket read
 * ended: COPY FROM STDIN does not need row-aligned messages. On any failure the target's COPY
 * is aborted (so its transaction can roll back) and the source's COPY is cancelled and read to
 * its end (pg-wire.ts, so its connection stays usable), then the first error is thrown.
 */
export async function pipeCopy(
  source: CopySource,
  copyOut: string,
  target: Session,
  copyIn: string,
): Promise<number> {
  const into = startCopy(target, copyIn);
  const writable = await into.query.writable();
  let targetError: unknown = null;
  // A target that fails mid-stream may report it only through the query, or only on the writable.
  const failed = new Promise<never>((_, reject) => {
    into.completed.catch((error) => reject(targetError ??= error));
    writable.on("error", (error) => reject(targetError ??= error));
  });
  failed.catch(() => {});
  // Settles once postgres.js took the bytes and its socket wrote them: a block the source client
  // lent (CopySink) may be read into again only then. The writable holds the pieces in between
  // (views, not copies), never more than one block's.
  const send = (bytes: Uint8Array) =>
    Promise.race([
      new Promise<void>((resolve, reject) => {
        for (let at = 0; at < bytes.length; at += PIECE_BYTES) {
          const last = at + PIECE_BYTES >= bytes.length;
          writable.write(
            bytes.subarray(at, at + PIECE_BYTES),
            last ? (error) => error ? reject(targetError ??= error) : resolve() : undefined,
          );
        }
      }),
      failed,
    ]);
  const batch = new Uint8Array(BATCH_BYTES);
  let batched = 0;
  const flush = async () => {
    if (batched === 0) return;
    await send(batch.subarray(0, batched));
    batched = 0;
  };
  try {
    await source.copyOut(copyOut, async (block) => {
      if (targetError) throw targetError;
      if (batched + block.length > BATCH_BYTES) await flush();
      if (batched === 0 && block.length >= WRITE_BYTES) return await send(block);
      batch.set(block, batched);
      batched += block.length;
      if (batched >= WRITE_BYTES) await flush();
    });
    await flush();
    writable.end();
    return await Promise.race([into.completed, failed]);
  } catch (error) {
    if (!writable.destroyed) writable.destroy(error instanceof Error ? error : new Error(String(error)));
    await into.completed.catch(() => {});
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
  const copy = { query } as RunningCopy;
  let streamed = false;
  copy.completed = new Promise<number>((resolve, reject) => {
    const { resolve: resolveQuery, reject: rejectQuery } = query;
    query.resolve = (value) => {
      resolveQuery(value);
      if (!streamed) return void (streamed = true);
      resolve(Number((value as { count?: number | null }).count ?? 0));
    };
    query.reject = (error) => {
      rejectQuery(error);
      reject(error);
    };
  });
  copy.completed.catch(() => {});
  return copy;
}
