/**
 * The local stand-in for Supabase's Storage API (supabase/storage's REST routes), over the same
 * files the public route serves. Enough of it for another project's clone to be copied into:
 * buckets (create, list, get), objects (upload with x-upsert, authenticated download, one-folder
 * list). The service role key is required. Like Storage, most errors are HTTP 400 with the real
 * code in the body's `statusCode`. Runs under Deno (the gateway) and Node (unit tests).
 */
import { createLocalStorage } from "../../shared/storage/local-storage.ts";
import { assertBucketName, assertObjectKey } from "../../shared/storage/storage.ts";
import { DEFAULT_CONTENT_TYPE } from "../../shared/storage/content-types.ts";
import { listFolder, parseListRequest } from "./storage-api-list.ts";

export const STORAGE_API_PREFIX = "/storage/v1/";

export interface StorageApiOptions {
  dir: string;
  serviceRoleKey: string;
  publicBaseUrl: string;
}

/** `{ statusCode, error, message }` with HTTP 400 unless told otherwise, as Storage answers. */
export function storageError(statusCode: number, error: string, message: string, httpStatus = 400): Response {
  return Response.json({ statusCode: String(statusCode), error, message }, { status: httpStatus });
}

const bucketNotFound = () => storageError(404, "Bucket not found", "Bucket not found");
const objectNotFound = () => storageError(404, "not_found", "Object not found");
const duplicate = () => storageError(409, "Duplicate", "The resource already exists");

export function createStorageApi({ dir, serviceRoleKey, publicBaseUrl }: StorageApiOptions) {
  const storage = createLocalStorage({ dir, publicBaseUrl });

  /** `pathname` starts with STORAGE_API_PREFIX (a project's prefix already removed). */
  return async function handleStorageApiRequest(request: Request, pathname: string): Promise<Response> {
    if (request.headers.get("authorization") !== `Bearer ${serviceRoleKey}`) {
      return storageError(401, "Unauthorized", "The service role key is required: authorization: Bearer <key>", 401);
    }
    let segments: string[];
    try {
      segments = pathname.slice(STORAGE_API_PREFIX.length).split("/").map(decodeURIComponent);
    } catch {
      return storageError(400, "Invalid key", "Malformed path");
    }
    const [resource, ...rest] = segments;
    try {
      if (resource === "bucket") return await routeBucket(request, rest);
      if (resource === "object") return await routeObject(request, rest);
    } catch (error) {
      if ((error as { code?: string }).code === "invalid_storage_key") return storageError(400, "Invalid key", (error as Error).message);
      throw error;
    }
    return storageError(404, "not_found", `No route ${request.method} ${pathname}`, 404);
  };

  async function routeBucket(request: Request, rest: string[]): Promise<Response> {
    if (request.method === "GET" && rest.length === 0) {
      return Response.json((await storage.listBuckets()).map(describeBucket));
    }
    if (request.method === "GET" && rest.length === 1) {
      const bucket = await storage.getBucket(rest[0]);
      return bucket ? Response.json(describeBucket(bucket)) : bucketNotFound();
    }
    if (request.method === "POST" && rest.length === 0) {
      const body = await readJson(request);
      const name = body?.name;
      const id = body?.id ?? name;
      if (typeof name !== "string" || typeof id !== "string" || (body?.public !== undefined && typeof body.public !== "boolean")) {
        return storageError(400, "Invalid Input", "body must be {name: string, id?: string, public?: boolean}");
      }
      assertBucketName(id);
      return await storage.createBucket(id, { public: body?.public === true }) ? Response.json({ name }) : duplicate();
    }
    return storageError(405, "Method not allowed", `${request.method} is not supported on /bucket`, 405);
  }

  async function routeObject(request: Request, rest: string[]): Promise<Response> {
    if (request.method === "POST" && rest[0] === "list" && rest.length === 2) {
      assertBucketName(rest[1]);
      const parsed = parseListRequest(await readJson(request));
      if (typeof parsed === "string") return storageError(400, "Invalid Input", parsed);
      return Response.json(await listFolder(storage, dir, rest[1], parsed));
    }
    const authenticated = rest[0] === "authenticated" ? rest.slice(1) : rest;
    const [bucketId, ...path] = authenticated;
    const name = path.join("/");
    if (bucketId === undefined) return storageError(400, "Invalid key", "Object path must be <bucket>/<path>");
    assertObjectKey(bucketId, name);
    if (request.method === "GET") return await serveObject(bucketId, name);
    if (request.method === "POST" || request.method === "PUT") {
      if (authenticated !== rest) return storageError(405, "Method not allowed", "Upload to /object/<bucket>/<path>", 405);
      return await uploadObject(request, bucketId, name);
    }
    return storageError(405, "Method not allowed", `${request.method} is not supported on /object`, 405);
  }

  async function uploadObject(request: Request, bucketId: string, name: string): Promise<Response> {
    if (!await storage.getBucket(bucketId)) return bucketNotFound();
    const contentType = request.headers.get("content-type") || DEFAULT_CONTENT_TYPE;
    if (contentType.startsWith("multipart/form-data")) {
      return storageError(400, "Invalid Input", "the local stand-in takes the object as the raw body, not multipart/form-data");
    }
    const upsert = request.method === "PUT" || request.headers.get("x-upsert") === "true";
    try {
      await storage.upload(bucketId, name, request.body ?? new Uint8Array(), {
        contentType,
        cacheControl: request.headers.get("cache-control") ?? "no-cache",
        upsert,
      });
    } catch (error) {
      if ((error as { code?: string }).code === "storage_object_exists") return duplicate();
      throw error;
    }
    return Response.json({ Key: `${bucketId}/${name}`, Id: crypto.randomUUID() });
  }

  async function serveObject(bucketId: string, name: string): Promise<Response> {
    const opened = await storage.downloadStream(bucketId, name);
    if (!opened) return objectNotFound();
    const meta = await storage.readMeta(bucketId, name);
    return new Response(opened.body, {
      headers: { "content-type": meta.contentType, "cache-control": meta.cacheControl, "content-length": String(opened.size) },
    });
  }
}

function describeBucket(bucket: { id: string; public: boolean }) {
  return { id: bucket.id, name: bucket.id, public: bucket.public, file_size_limit: null, allowed_mime_types: null };
}

async function readJson(request: Request): Promise<Record<string, unknown> | null> {
  try {
    const value = JSON.parse(await request.text());
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}
