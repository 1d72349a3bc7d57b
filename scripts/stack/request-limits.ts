/**
 * The platform's answers to requests that break a per-request limit before or while a worker
 * serves them: a body over the size limit (413) and a worker silent past the request idle
 * timeout (504). Platform answers carry no CORS headers, as on hosted.
 */

/**
 * The request's body, or null when it is larger than `maxBytes` (by its declared length, or by
 * what arrives: a chunked body is read only up to the limit).
 */
export async function readBodyWithin(request: Request, maxBytes: number): Promise<ArrayBuffer | null> {
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) return null;
  if (!request.body) return new ArrayBuffer(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.byteLength;
    if (size > maxBytes) return null;
    chunks.push(chunk);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body.buffer;
}

/** 413 for a body over the limit; the worker never sees the request. */
export function bodyTooLargeResponse(maxBytes: number): Response {
  return Response.json(
    { code: "PAYLOAD_TOO_LARGE", message: `Request body exceeds the ${maxBytes}-byte limit` },
    { status: 413 },
  );
}

/** 504 for a request the worker left unanswered for the request idle timeout. */
export function idleTimeoutResponse(): Response {
  return Response.json(
    { code: "IDLE_TIMEOUT", message: "The function did not send a response before the request idle timeout" },
    { status: 504 },
  );
}
