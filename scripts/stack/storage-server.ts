/**
 * Serves the local storage stand-in the way Supabase Storage serves public buckets:
 * GET/HEAD /storage/v1/object/public/<bucket>/<path>, with Range support for video players.
 */
import { extname, join, resolve, sep } from "node:path";

export const PUBLIC_OBJECT_PREFIX = "/storage/v1/object/public/";

const CONTENT_TYPES: Record<string, string> = {
  ".mp4": "video/mp4",
  ".webm": "video/webm",
  ".mov": "video/quicktime",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".gif": "image/gif",
  ".svg": "image/svg+xml",
  ".wav": "audio/wav",
  ".mp3": "audio/mpeg",
  ".m4a": "audio/mp4",
  ".ogg": "audio/ogg",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".srt": "application/x-subrip",
  ".vtt": "text/vtt",
  ".html": "text/html; charset=utf-8",
  ".pdf": "application/pdf",
};

function storageError(status: number, error: string, message: string): Response {
  return Response.json({ statusCode: String(status), error, message }, { status });
}

/** Returns a handler for paths under PUBLIC_OBJECT_PREFIX, reading files from `storageDir`. */
export function createStorageServer(storageDir: string) {
  const root = resolve(storageDir);

  return async function servePublicObject(request: Request, pathname: string): Promise<Response> {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return storageError(405, "Method not allowed", "Only GET and HEAD are supported");
    }
    let objectPath: string;
    try {
      objectPath = decodeURIComponent(pathname.slice(PUBLIC_OBJECT_PREFIX.length));
    } catch {
      return storageError(400, "Invalid key", "Malformed object path");
    }
    const segments = objectPath.split("/");
    if (segments.length < 2 || segments.some((part) => part === ".." || part === "." || part === "" || part.includes("\0"))) {
      return storageError(400, "Invalid key", "Object path must be <bucket>/<path> without '..'");
    }
    const filePath = join(root, ...segments);
    if (!filePath.startsWith(root + sep)) return storageError(400, "Invalid key", "Path escapes the storage dir");

    let file: Deno.FsFile;
    let size: number;
    try {
      file = await Deno.open(filePath, { read: true });
      const info = await file.stat();
      if (!info.isFile) {
        file.close();
        return storageError(404, "not_found", "Object not found");
      }
      size = info.size;
    } catch {
      return storageError(404, "not_found", "Object not found");
    }

    const headers = new Headers({
      "content-type": CONTENT_TYPES[extname(filePath).toLowerCase()] ?? "application/octet-stream",
      "accept-ranges": "bytes",
      "cache-control": "no-cache",
    });
    const range = parseRange(request.headers.get("range"), size);
    if (range === "unsatisfiable") {
      file.close();
      headers.set("content-range", `bytes */${size}`);
      return new Response(null, { status: 416, headers });
    }
    const [start, end] = range ?? [0, size - 1];
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

/** Parses a single `bytes=` range; multi-range requests are answered with the whole file. */
function parseRange(header: string | null, size: number): [number, number] | "unsatisfiable" | null {
  const match = header?.match(/^bytes=(\d*)-(\d*)$/);
  if (!match || (match[1] === "" && match[2] === "")) return null;
  let start: number;
  let end: number;
  if (match[1] === "") {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) return "unsatisfiable";
  return [start, end];
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
