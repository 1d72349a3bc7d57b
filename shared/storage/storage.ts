/**
 * Where generated media lives. Functions and workers only see this interface, and it is always
 * Supabase Storage over its HTTP API: on hosted projects and on the local stack alike.
 */
import { BadRequestError } from "../errors.ts";

export interface UploadOptions {
  contentType: string;
  /**
   * Seconds, as supabase-js takes it ("3600" is sent as `max-age=3600`), or a whole Cache-Control
   * value ("no-cache"). Default "3600", supabase-js's default.
   */
  cacheControl?: string;
  /** Replace an existing object; without it, uploading over an existing object is a conflict. */
  upsert?: boolean;
}

/** An object's bytes, whole or as a stream (copies of large objects never hold them in memory). */
export type ObjectBody = Uint8Array | ReadableStream<Uint8Array>;

export interface BucketInfo {
  id: string;
  public: boolean;
}

export interface ObjectInfo {
  /** The full path inside the bucket, e.g. `movie-1/scene 1.mp4`. */
  name: string;
  size: number;
  contentType: string | null;
  /** The stored Cache-Control value, e.g. `max-age=3600`. */
  cacheControl: string | null;
}

export interface ListObjectsOptions {
  /** Only names that sort after this one (a cursor: the last name of the previous page). */
  after?: string;
  limit: number;
}

export interface ObjectStream {
  body: ReadableStream<Uint8Array>;
  /** The length in bytes when the backend tells it. */
  size: number | null;
}

export interface ObjectStorage {
  upload(bucket: string, path: string, body: ObjectBody, options: UploadOptions): Promise<{ path: string }>;
  /** The object's bytes, or null when it does not exist. */
  download(bucket: string, path: string): Promise<Uint8Array | null>;
  /** The object's bytes as a stream, or null when it does not exist. The caller must consume or cancel it. */
  downloadStream(bucket: string, path: string): Promise<ObjectStream | null>;
  /**
   * The object's address in the public-URL shape (`.../storage/v1/object/public/<bucket>/<path>`).
   * It serves only for a public bucket; for a private one (`media`) it is the object's stable name,
   * stored in the database and turned into a signed URL when a client or provider must fetch it.
   */
  publicUrl(bucket: string, path: string): string;
  /**
   * A URL that serves the object to anyone holding it until `expiresInSeconds` have passed
   * (Storage's `POST /object/sign/<bucket>/<path>`), or null when the object does not exist.
   */
  signedUrl(bucket: string, path: string, expiresInSeconds: number): Promise<string | null>;
  /**
   * signedUrl for many objects of one bucket in one request (`POST /object/sign/<bucket>`), in the
   * order of `paths`; null for a missing object.
   */
  signedUrls(bucket: string, paths: string[], expiresInSeconds: number): Promise<(string | null)[]>;
  /** Removes the objects; missing ones are ignored. */
  remove(bucket: string, paths: string[]): Promise<void>;
  /** Every bucket, sorted by id (compareObjectNames). */
  listBuckets(): Promise<BucketInfo[]>;
  /**
   * One page of a bucket's objects, all folders deep, sorted by compareObjectNames; an empty page
   * means there is nothing after `after`. A missing bucket lists as empty.
   */
  listObjects(bucket: string, options: ListObjectsOptions): Promise<ObjectInfo[]>;
}

const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The characters hosted Storage takes in an object key: S3's safe ones and a few it handles
 * itself (supabase/storage, src/storage/limits.ts). It answers any other key (é, #, %, ~, an
 * emoji) `400 InvalidKey`; the stack does too, and the functions' client refuses to send one.
 */
const STORAGE_KEY_CHARACTERS = /^[A-Za-z0-9_/!\-.*'() &$@=;:+,?]*$/;

/**
 * Refuses names that could escape the bucket (`..`, empty segments, absolute paths) and names
 * hosted Storage refuses (STORAGE_KEY_CHARACTERS).
 */
export function assertObjectKey(bucket: string, path: string): void {
  assertBucketName(bucket);
  const segments = path.split("/");
  if (
    path === "" ||
    segments.some((segment) =>
      segment === "" || segment === "." || segment === ".." || segment.includes("\0")
    )
  ) {
    throw new BadRequestError("invalid_storage_key", `invalid object path: ${JSON.stringify(path)}`);
  }
  if (!STORAGE_KEY_CHARACTERS.test(path)) {
    throw new BadRequestError(
      "invalid_storage_key",
      `invalid object path: ${
        JSON.stringify(path)
      }: Storage takes letters, digits and _/!-.*'() &$@=;:+,? only`,
    );
  }
}

export function assertBucketName(bucket: string): void {
  if (!BUCKET_NAME.test(bucket) || bucket === "." || bucket === "..") {
    throw new BadRequestError("invalid_storage_key", `invalid bucket name: ${JSON.stringify(bucket)}`);
  }
}

/** `<base>/<bucket>/<path>` with each segment URL-encoded. */
export function joinPublicUrl(baseUrl: string, bucket: string, path: string): string {
  return [baseUrl.replace(/\/+$/, ""), bucket, ...path.split("/")].map((part, i) =>
    i === 0 ? part : encodeURIComponent(part)
  ).join("/");
}

/**
 * Orders names by Unicode code point, which is the byte order of their UTF-8 — Postgres's "C"
 * collation, the order Supabase Storage keeps `storage.objects.name` in. Plain `<` on JS strings
 * compares UTF-16 units and disagrees for characters beyond U+FFFF.
 */
export function compareObjectNames(a: string, b: string): number {
  for (let i = 0, j = 0; i < a.length && j < b.length;) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(j)!;
    if (x !== y) return x < y ? -1 : 1;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return Math.sign(a.length - b.length) || 0;
}

/** The Cache-Control header for UploadOptions.cacheControl: seconds become `max-age=<n>`. */
export function cacheControlHeader(cacheControl: string | undefined): string {
  const value = cacheControl ?? "3600";
  return /^\d+$/.test(value) ? `max-age=${value}` : value;
}
