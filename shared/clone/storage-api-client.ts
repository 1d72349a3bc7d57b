/**
 * Another project's Storage API over plain fetch, with its service role key: create buckets,
 * upload objects (streamed, upsert), list for verification. Follows supabase/storage's routes:
 * POST /bucket, GET /bucket, POST /object/<bucket>/<path> with x-upsert, POST /object/list/<bucket>.
 * Storage answers most errors with HTTP 400 and the real code in the body's `statusCode`.
 */
import { AppError, TargetNotAllowedError } from "../errors.ts";
import { createGuardedFetch } from "../net/http-target.ts";
import type { OutboundGuard } from "../net/outbound-guard.ts";

export interface StorageTarget {
  /** The project's API URL, e.g. https://<ref>.supabase.co */
  url: string;
  serviceRoleKey: string;
}

/** A target with the guard its requests go through (every request checked, redirects refused). */
export interface GuardedStorageTarget extends StorageTarget {
  guard: OutboundGuard;
}

export interface TargetObject {
  name: string;
  size: number;
  contentType: string | null;
  cacheControl: string | null;
}

interface ListEntry {
  name: string;
  id: string | null;
  metadata: { size?: number; mimetype?: string; cacheControl?: string } | null;
}

/** The target refused (4xx: fails the job) or failed (5xx: the slice is retried). */
export class TargetStorageError extends AppError {
  constructor(
    operation: string,
    readonly httpStatus: number,
    readonly storageStatus: string | null,
    detail: string,
  ) {
    super(
      httpStatus < 500 ? "target_storage_refused" : "target_storage_unavailable",
      httpStatus < 500 ? 422 : 502,
      `target storage ${operation}: ${httpStatus}${
        storageStatus && storageStatus !== String(httpStatus) ? ` (${storageStatus})` : ""
      } ${detail}`,
    );
  }
}

const LIST_PAGE = 1000;

export function createStorageApiClient({ url, serviceRoleKey, guard }: GuardedStorageTarget) {
  const base = `${url.replace(/\/+$/, "")}/storage/v1`;
  const auth = { authorization: `Bearer ${serviceRoleKey}`, apikey: serviceRoleKey };
  const guardedFetch = createGuardedFetch(guard, "targetStorage.url");

  async function call(
    operation: string,
    path: string,
    init: RequestInit & { duplex?: "half" },
  ): Promise<unknown> {
    const response = await guardedFetch(`${base}${path}`, { ...init, headers: { ...auth, ...init.headers } });
    const text = await response.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch { /* not JSON: the text goes into the error */ }
    const storageStatus = (body as { statusCode?: unknown } | null)?.statusCode;
    if (response.ok && storageStatus === undefined) return body;
    const message = (body as { message?: string } | null)?.message ?? text.slice(0, 200);
    throw new TargetStorageError(
      operation,
      response.status,
      storageStatus == null ? null : String(storageStatus),
      message,
    );
  }

  return {
    /** Creates the bucket; false when it exists already (Storage: 409, or 400 with statusCode "409"). */
    async createBucket(id: string, isPublic: boolean): Promise<boolean> {
      try {
        await call(`create bucket ${id}`, "/bucket", jsonPost({ id, name: id, public: isPublic }));
        return true;
      } catch (error) {
        if (
          error instanceof TargetStorageError && (error.httpStatus === 409 || error.storageStatus === "409")
        ) return false;
        throw error;
      }
    },

    async listBuckets(): Promise<{ id: string; public: boolean }[]> {
      const buckets = await call("list buckets", "/bucket", { method: "GET" }) as {
        id: string;
        public: boolean;
      }[];
      return buckets.map((bucket) => ({ id: bucket.id, public: bucket.public === true }));
    },

    /** Uploads with upsert, so a re-run after an interruption overwrites instead of failing. */
    async uploadObject(
      bucket: string,
      name: string,
      body: ReadableStream<Uint8Array>,
      options: { contentType: string; cacheControl: string | null; size: number | null },
    ): Promise<void> {
      const headers: Record<string, string> = { "content-type": options.contentType, "x-upsert": "true" };
      if (options.cacheControl !== null) headers["cache-control"] = options.cacheControl;
      // Node's fetch sends a streamed body with this length instead of chunked; Deno's ignores it.
      if (options.size !== null) headers["content-length"] = String(options.size);
      await call(`upload ${bucket}/${name}`, `/object/${objectPath(bucket, name)}`, {
        method: "POST",
        headers,
        body: body as BodyInit,
        duplex: "half",
      });
    },

    /** Every object of the bucket, folder by folder (the list route is one folder deep, paged by offset). */
    async *listAllObjects(bucket: string): AsyncGenerator<TargetObject> {
      const folders = [""];
      for (let prefix = folders.pop(); prefix !== undefined; prefix = folders.pop()) {
        for (let offset = 0;; offset += LIST_PAGE) {
          const entries = await call(
            `list ${bucket}/${prefix}`,
            `/object/list/${encodeURIComponent(bucket)}`,
            jsonPost({
              prefix,
              limit: LIST_PAGE,
              offset,
              sortBy: { column: "name", order: "asc" },
            }),
          ) as ListEntry[];
          for (const entry of entries) {
            // Folders come back with a null id and no metadata.
            if (entry.id === null) folders.push(`${prefix}${entry.name}/`);
            else {
              yield {
                name: `${prefix}${entry.name}`,
                size: entry.metadata?.size ?? 0,
                contentType: entry.metadata?.mimetype ?? null,
                cacheControl: entry.metadata?.cacheControl ?? null,
              };
            }
          }
          if (entries.length < LIST_PAGE) break;
        }
      }
    },
  };
}

export type StorageApiClient = ReturnType<typeof createStorageApiClient>;

/**
 * Tries the target's Storage API once at start (list buckets): a URL that redirects or whose host
 * is refused is the caller's to fix now (400), before a job exists. Other failures (a wrong key,
 * an outage) are left to the job, which reports them.
 */
export async function probeTargetStorage(
  target: StorageTarget,
  guard: OutboundGuard,
  timeoutMs = 10_000,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A target that does not answer in time is the job's to report, not a reason to hold the start.
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  try {
    await Promise.race([createStorageApiClient({ ...target, guard }).listBuckets(), timeout]);
  } catch (error) {
    if (error instanceof TargetNotAllowedError) throw error;
  } finally {
    clearTimeout(timer);
  }
}

function jsonPost(body: unknown): RequestInit {
  return { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

function objectPath(bucket: string, name: string): string {
  return [bucket, ...name.split("/")].map(encodeURIComponent).join("/");
}
