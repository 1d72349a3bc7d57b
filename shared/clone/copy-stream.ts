import type { CopySink } from "./pg-wire.ts";

/** Where a COPY's rows come from: a `COPY ... TO STDOUT` relayed in blocks (pg-wire.ts). */
export interface CopySource {
  copyOut(text: string, sink: CopySink): Promise<number>;
}

/** Where they go: a `COPY ... FROM STDIN` fed with those blocks (pg-wire.ts). */
export interface CopyTarget {
  copyIn(text: string, feed: (write: CopySink) => Promise<unknown>): Promise<number>;
}

/**
 * Streams `copy (...) to stdout` on `source` into `copy ... from stdin` on `target` and returns the
 * row count the target's COPY reported. Each block the source's client read (the rows' bytes
 * without message framing, cut wherever a socket read ended) goes to the target as it is, and the
 * next read waits until it is on the target's socket: back-pressure both ways, one buffer per
 * connection, nothing copied in between.
 *
 * On a failure the target's COPY is abandoned (its transaction can roll back) and the source's is
 * cancelled and read to its end (its connection stays usable); the first error is thrown.
 *
 * Why both ends are raw wire connections: through postgres.js the target side copied every write
 * into a CopyData message of its own, garbage that V8 frees only at its next collection, and CPU
 * the platform counts (numbers in pg-wire.ts).
 */
export async function relayCopy(
  source: CopySource,
  copyOut: string,
  target: CopyTarget,
  copyIn: string,
): Promise<number> {
  return await target.copyIn(copyIn, (write) => source.copyOut(copyOut, write));
}
