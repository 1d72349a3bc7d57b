/**
 * Where the local storage stand-in keeps things, shared by LocalStorage and the stack's gateway:
 * `<dir>/<bucket>/<path>` the bytes, `<dir>/.meta/<bucket>/<path>` the object's content type and
 * cache control (a JSON sidecar mirroring the object's path, so it collides only where the objects
 * themselves would), `<dir>/.buckets/<bucket>.json` the bucket's settings. Names starting with a
 * dot are never bucket names, so none of these can be mistaken for a bucket.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { assertBucketName, assertObjectKey, type BucketInfo } from "./storage.ts";

export interface ObjectMeta {
  contentType: string;
  cacheControl: string;
}

/** Matches the temporary files of uploads in flight: `<name>.<uuid>.tmp`. */
export const UPLOAD_TEMP_FILE = /\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;

export function objectFile(dir: string, bucket: string, path: string): string {
  assertObjectKey(bucket, path);
  return join(dir, bucket, ...path.split("/"));
}

export function metaFile(dir: string, bucket: string, path: string): string {
  assertObjectKey(bucket, path);
  return join(dir, ".meta", bucket, ...path.split("/"));
}

export function bucketFile(dir: string, bucket: string): string {
  assertBucketName(bucket);
  return join(dir, ".buckets", `${bucket}.json`);
}

/** The sidecar of an object, or null for one stored without (put there by hand, or older). */
export async function readObjectMeta(dir: string, bucket: string, path: string): Promise<ObjectMeta | null> {
  const text = await readFile(metaFile(dir, bucket, path), "utf8").catch(ignoreMissing);
  if (text === null) return null;
  try {
    const meta = JSON.parse(text);
    return typeof meta?.contentType === "string" && typeof meta?.cacheControl === "string" ? meta : null;
  } catch {
    return null; // a sidecar cut short by a crash counts as none
  }
}

/**
 * The bucket's settings. A directory without a settings file is a bucket too, and public: the
 * stand-in has always created buckets on first upload and served every one of them publicly.
 */
export async function readBucket(dir: string, bucket: string): Promise<BucketInfo | null> {
  const text = await readFile(bucketFile(dir, bucket), "utf8").catch(ignoreMissing);
  if (text !== null) return { id: bucket, public: JSON.parse(text).public === true };
  const info = await stat(join(dir, bucket)).catch(ignoreMissing);
  return info?.isDirectory() ? { id: bucket, public: true } : null;
}

export function ignoreMissing(error: unknown): null {
  const code = (error as { code?: string })?.code;
  if (code === "ENOENT" || code === "ENOTDIR") return null;
  throw error;
}
