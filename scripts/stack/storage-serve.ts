/**
 * An object's bytes as Storage serves them: its stored content type, cache control and eTag, and
 * Range support for video players (206, or 416 past the end). HEAD answers the headers only.
 */
import { open } from "node:fs/promises";
import { parseByteRange } from "../../shared/http/byte-range.ts";
import type { ObjectRow } from "./storage-objects.ts";

export async function serveObject(
  request: Request,
  row: ObjectRow,
  filePath: string,
): Promise<Response | null> {
  const file = await open(filePath, "r").catch(() => null);
  if (!file) return null; // replaced (and its old version removed) since the row was read
  const { size } = await file.stat();
  const headers = new Headers({
    "content-type": row.metadata?.mimetype ?? "application/octet-stream",
    "cache-control": row.metadata?.cacheControl ?? "no-cache",
    "accept-ranges": "bytes",
    "last-modified": new Date(row.updated_at ?? Date.now()).toUTCString(),
  });
  if (row.metadata?.eTag) headers.set("etag", row.metadata.eTag);
  const range = parseByteRange(request.headers.get("range"), size);
  if (range === "unsatisfiable") {
    await file.close();
    headers.set("content-range", `bytes */${size}`);
    return new Response(null, { status: 416, headers });
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  const length = Math.max(0, end - start + 1);
  headers.set("content-length", String(length));
  if (range) headers.set("content-range", `bytes ${start}-${end}/${size}`);
  const status = range ? 206 : 200;
  if (request.method === "HEAD" || length === 0) {
    await file.close();
    return new Response(null, { status, headers });
  }
  return new Response(fileRangeStream(file, start, length), { status, headers });
}

type FileHandle = Awaited<ReturnType<typeof open>>;

/** `length` bytes from `start`, 64 KiB at a time; closes the file when done or cancelled. */
function fileRangeStream(file: FileHandle, start: number, length: number): ReadableStream<Uint8Array> {
  let position = start;
  let remaining = length;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const buffer = new Uint8Array(Math.min(64 * 1024, remaining));
        const { bytesRead } = await file.read(buffer, 0, buffer.byteLength, position);
        position += bytesRead;
        remaining -= bytesRead;
        if (bytesRead > 0) controller.enqueue(buffer.subarray(0, bytesRead));
        if (bytesRead === 0 || remaining <= 0) {
          controller.close();
          await file.close();
        }
      } catch (error) {
        await file.close().catch(() => {});
        controller.error(error);
      }
    },
    cancel: () => file.close(),
  });
}
