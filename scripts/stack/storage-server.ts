/**
 * Serves the local storage stand-in the way Supabase Storage serves public buckets:
 * GET/HEAD /storage/v1/object/public/<bucket>/<path>, with Range support for video players, and
 * the content type and cache control the object was uploaded with.
 */
import { join, resolve, sep } from "node:path";
import { readBucket, readObjectMeta } from "../../shared/storage/local-layout.ts";
import { parseByteRange } from "../../shared/http/byte-range.ts";
import { contentTypeFromExtension } from "../../shared/storage/content-types.ts";
import { assertObjectKey } from "../../shared/storage/storage.ts";
import { storageError } from "./storage-api.ts";

export const PUBLIC_OBJECT_PREFIX = "/storage/v1/object/public/";

/** Returns a handler for paths under PUBLIC_OBJECT_PREFIX, reading files from `storageDir`. */
export function createStorageServer(storageDir: string) {
  const root = resolve(storageDir);

  return async function servePublicObject(request: Request, pathname: string): Promise<Response> {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return storageError(405, "Method not allowed", "Only GET and HEAD are supported", 405);
    }
    let objectPath: string;
    try {
      objectPath = decodeURIComponent(pathname.slice(PUBLIC_OBJECT_PREFIX.length));
    } catch {
      return storageError(400, "Invalid key", "Malformed object path");
    }
    const segments = objectPath.split("/");
    const [bucket, ...path] = segments;
    try {
      assertObjectKey(bucket, path.join("/")); // bucket names never start with a dot: .meta and .buckets stay private
    } catch {
      return storageError(400, "Invalid key", "Object path must be <bucket>/<path> without '..'");
    }
    const filePath = join(root, ...segments);
    if (!filePath.startsWith(root + sep)) return storageError(400, "Invalid key", "Path escapes the storage dir");
    // Storage answers a private bucket's public URL as it answers a missing bucket.
    if (!(await readBucket(root, bucket))?.public) return storageError(404, "Bucket not found", "Bucket not found");

    let file: Deno.FsFile;
    let size: number;
    try {
      file = await Deno.open(filePath, { read: true });
      const info = await file.stat();
      if (!info.isFile) {
        file.close();
        return storageError(404, "not_found", "Object not found", 404); // HTTP 404 as before; hosted Storage says 400 with statusCode 404
      }
      size = info.size;
    } catch {
      return storageError(404, "not_found", "Object not found", 404);
    }

    const meta = await readObjectMeta(root, bucket, path.join("/"));
    const headers = new Headers({
      "content-type": meta?.contentType ?? contentTypeFromExtension(filePath),
      "accept-ranges": "bytes",
      "cache-control": meta?.cacheControl ?? "no-cache",
    });
    const range = parseByteRange(request.headers.get("range"), size);
    if (range === "unsatisfiable") {
      file.close();
      headers.set("content-range", `bytes */${size}`);
      return new Response(null, { status: 416, headers });
    }
    const { start, end } = range ?? { start: 0, end: size - 1 };
    const length = Math.max(0, end - start + 1);
    headers.set("content-length", String(length));
    if (range) headers.set("content-range", `bytes ${start}-${end}/${size}`);
    const status = range ? 206 : 200;
    if (request.method === "HEAD" || length === 0) {
      file.close();
      return new Response(null, { status, headers });
    }
    await file.seek(start, Deno.SeekMode.Start);
    return new Response(limitStream(file.readable, length), { status, headers });
  };
}

function limitStream(source: ReadableStream<Uint8Array>, length: number): ReadableStream<Uint8Array> {
  let remaining = length;
  const reader = source.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done || remaining <= 0) {
        controller.close();
        await reader.cancel().catch(() => {});
        return;
      }
      const chunk = value.byteLength > remaining ? value.subarray(0, remaining) : value;
      remaining -= chunk.byteLength;
      controller.enqueue(chunk);
      if (remaining <= 0) {
        controller.close();
        await reader.cancel().catch(() => {});
      }
    },
    cancel: () => reader.cancel(),
  });
}
