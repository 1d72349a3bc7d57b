/**
 * Supabase Storage's error answers (supabase/storage, src/internal/errors/codes.ts): HTTP 400 for
 * every client fault, with the real status in the body's `statusCode` (a string), the legacy name
 * in `error` and the code in `code`. Thrown inside the stack's Storage API, rendered at its edge.
 */
export class StorageApiError extends Error {
  constructor(readonly statusCode: number, readonly code: string, readonly error: string, message: string) {
    super(message);
  }
}

export const storageErrors = {
  noSuchBucket: () => new StorageApiError(404, "NoSuchBucket", "Bucket not found", "Bucket not found"),
  noSuchKey: () => new StorageApiError(404, "NoSuchKey", "not_found", "Object not found"),
  duplicate: () => new StorageApiError(409, "Duplicate", "Duplicate", "The resource already exists"),
  bucketNotEmpty: () =>
    new StorageApiError(
      409,
      "ResourceNotEmpty",
      "ResourceNotEmpty",
      "The bucket you tried to delete is not empty",
    ),
  entityTooLarge: () =>
    new StorageApiError(
      413,
      "EntityTooLarge",
      "Payload too large",
      "The object exceeded the maximum allowed size",
    ),
  invalidMimeType: (mimeType: string) =>
    new StorageApiError(
      415,
      "InvalidMimeType",
      "invalid_mime_type",
      `mime type ${mimeType} is not supported`,
    ),
  invalidKey: (key: string) => new StorageApiError(400, "InvalidKey", "Invalid key", `Invalid key: ${key}`),
  invalidBucketName: () =>
    new StorageApiError(400, "InvalidBucketName", "Invalid Input", "Bucket name invalid"),
  invalidInput: (message: string) => new StorageApiError(400, "InvalidRequest", "Invalid Input", message),
  /** What a caller gets when RLS refuses a write, or its token is not valid. */
  accessDenied: (message: string) => new StorageApiError(403, "AccessDenied", "Unauthorized", message),
  missingAuthorization: () =>
    new StorageApiError(
      400,
      "InvalidRequest",
      "Error",
      "headers must have required property 'authorization'",
    ),
  invalidJwt: (message: string) => new StorageApiError(400, "InvalidJWT", "InvalidJWT", message),
  urlSignatureMismatch: () =>
    new StorageApiError(400, "InvalidSignature", "InvalidSignature", "The url do not match the signature"),
  notFoundRoute: (message: string) => new StorageApiError(404, "InvalidRequest", "not_found", message),
};

/** Storage answers 400 for every client fault and 500 for its own; the body carries the real code. */
export function storageErrorResponse(error: StorageApiError): Response {
  const body = {
    statusCode: String(error.statusCode),
    code: error.code,
    error: error.error,
    message: error.message,
  };
  return Response.json(body, { status: error.statusCode >= 500 ? 500 : 400 });
}
