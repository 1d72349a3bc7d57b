/**
 * An upload's bytes and settings as Storage takes them: a raw body, streamed (content type and cache
 * control from the headers), or multipart/form-data, which supabase-js sends for Blob and File
 * bodies (the file in field "" or "file", `cacheControl` in seconds as its own field), read whole.
 */
import { Buffer } from "node:buffer";
import { DEFAULT_CONTENT_TYPE } from "../../shared/storage/content-types.ts";
import { storageErrors } from "./storage-errors.ts";

export interface UploadBody {
  stream: ReadableStream<Uint8Array>;
  mimetype: string;
  cacheControl: string;
}

/** Also refuses, before reading it, a body whose declared length is already over `limitBytes`. */
export async function readUploadBody(request: Request, limitBytes: number): Promise<UploadBody> {
  const declared = Number(request.headers.get("content-length") ?? NaN);
  const contentType = request.headers.get("content-type") || DEFAULT_CONTENT_TYPE;
  if (contentType.startsWith("multipart/form-data")) {
    // The form's own framing adds a little on top of the file.
    const parts = parseMultipart(await readAtMost(request, limitBytes + FORM_OVERHEAD), contentType);
    const file = parts.find((part) => part.filename !== null || part.name === "" || part.name === "file");
    if (!file) throw storageErrors.invalidInput("No content provided");
    const seconds = parts.find((part) => part.name === "cacheControl");
    return {
      stream: new ReadableStream({
        start(controller) {
          controller.enqueue(file.body);
          controller.close();
        },
      }),
      mimetype: file.contentType ?? DEFAULT_CONTENT_TYPE,
      cacheControl: seconds ? cacheControlOf(new TextDecoder().decode(seconds.body)) : "no-cache",
    };
  }
  if (declared > limitBytes) throw storageErrors.entityTooLarge();
  return {
    stream: request.body ?? new Blob([]).stream(),
    mimetype: contentType,
    cacheControl: request.headers.get("cache-control") ?? "no-cache",
  };
}

const FORM_OVERHEAD = 64 * 1024;

/** The whole body, or EntityTooLarge once it passes `limit` bytes. */
async function readAtMost(request: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > limit) {
    await request.body?.cancel();
    throw storageErrors.entityTooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body ?? new Blob([]).stream()) {
    size += chunk.byteLength;
    if (size > limit) throw storageErrors.entityTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

interface FormPart {
  name: string | null;
  filename: string | null;
  contentType: string | null;
  body: Uint8Array;
}

/**
 * multipart/form-data parts (RFC 7578), parsed here because Deno's Request.formData() drops fields
 * with an empty name — the very name supabase-js gives the file.
 */
function parseMultipart(bytes: Uint8Array, contentType: string): FormPart[] {
  const boundary = contentType.match(/boundary=(?:"([^"]+)"|([^;]+))/i);
  if (!boundary) throw storageErrors.invalidInput("multipart/form-data without a boundary");
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2].trim()}`);
  const parts: FormPart[] = [];
  let at = buffer.indexOf(delimiter);
  while (at !== -1) {
    const start = at + delimiter.length;
    if (buffer.subarray(start, start + 2).toString() === "--") break; // the closing delimiter
    const headerEnd = buffer.indexOf("\r\n\r\n", start);
    const next = buffer.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), headerEnd);
    if (headerEnd === -1 || next === -1) {
      throw storageErrors.invalidInput("malformed multipart/form-data body");
    }
    const headers = buffer.subarray(start, headerEnd).toString("utf8");
    const disposition = headers.match(/content-disposition:([^\r\n]*)/i)?.[1] ?? "";
    parts.push({
      name: disposition.match(/\bname="([^"]*)"/i)?.[1] ?? null,
      filename: disposition.match(/\bfilename="([^"]*)"/i)?.[1] ?? null,
      contentType: headers.match(/content-type:\s*([^\r\n]*)/i)?.[1].trim() || null,
      body: buffer.subarray(headerEnd + 4, next),
    });
    at = next + 2;
  }
  return parts;
}

/** Storage stores `max-age=<n>` for a cacheControl form field of seconds. */
function cacheControlOf(value: string): string {
  return /^\d+$/.test(value) ? `max-age=${value}` : value;
}

/** Whether `mimetype` is one the bucket allows (`image/*` style wildcards too); no list allows all. */
export function mimeTypeAllowed(mimetype: string, allowed: string[] | null): boolean {
  if (!allowed || allowed.length === 0) return true;
  const bare = mimetype.split(";")[0].trim().toLowerCase();
  return allowed.some((pattern) => {
    const wanted = pattern.trim().toLowerCase();
    return wanted.endsWith("/*") ? bare.startsWith(wanted.slice(0, -1)) : bare === wanted;
  });
}
