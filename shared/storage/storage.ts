/**
 * Where generated media lives. Functions and workers only see this interface: hosted projects use
 * Supabase Storage, the local stack uses files that its gateway serves under the same URL shape.
 */
import { BadRequestError } from "../errors.ts";

export interface UploadOptions {
  contentType: string;
  cacheControl?: string;
  /** Replace an existing object; without it, uploading over an existing object is a conflict. */
  upsert?: boolean;
}

export interface ObjectStorage {
  upload(bucket: string, path: string, bytes: Uint8Array, options: UploadOptions): Promise<{ path: string }>;
  /** The object's bytes, or null when it does not exist. */
  download(bucket: string, path: string): Promise<Uint8Array | null>;
  /** The URL anyone can fetch a public bucket's object from. */
  publicUrl(bucket: string, path: string): string;
  /** Removes the objects; missing ones are ignored. */
  remove(bucket: string, paths: string[]): Promise<void>;
}

const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Refuses names that could escape the bucket (`..`, empty segments, absolute paths). */
export function assertObjectKey(bucket: string, path: string): void {
  if (!BUCKET_NAME.test(bucket) || bucket === "." || bucket === "..") {
    throw new BadRequestError("invalid_storage_key", `invalid bucket name: ${JSON.stringify(bucket)}`);
  }
  const segments = path.split("/");
  if (path === "" || segments.some((segment) => segment === "" || segment === "." || segment === ".." || segment.includes("\0"))) {
    throw new BadRequestError("invalid_storage_key", `invalid object path: ${JSON.stringify(path)}`);
  }
}

/** `<base>/<bucket>/<path>` with each segment URL-encoded. */
export function joinPublicUrl(baseUrl: string, bucket: string, path: string): string {
  return [baseUrl.replace(/\/+$/, ""), bucket, ...path.split("/")].map((part, i) => i === 0 ? part : encodeURIComponent(part)).join("/");
}
