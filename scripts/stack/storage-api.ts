/**
 * The local stack's Supabase Storage: supabase/storage's REST routes under /storage/v1, with the
 * metadata in Postgres (`storage.buckets`, `storage.objects`, read and written as the caller, so
 * RLS decides as on hosted) and the bytes on disk (storage-files.ts). Public reads of public
 * buckets and signed-URL reads need no key; everything else goes by the caller's key or token.
 * Errors come in Storage's shape (storage-errors.ts). Runs in the gateway (Deno).
 */
import { assertObjectKey } from "../../shared/storage/storage.ts";
import { type Bucket, type BucketSettings, createBuckets } from "./storage-buckets.ts";
import type { CallerResolver } from "./storage-callers.ts";
import type { StorageSql } from "./storage-db.ts";
import { StorageApiError, storageErrorResponse, storageErrors } from "./storage-errors.ts";
import { createStorageFiles } from "./storage-files.ts";
import { listFolder, parseListRequest } from "./storage-listing.ts";
import { createObjects, type ObjectRow } from "./storage-objects.ts";
import { serveObject } from "./storage-serve.ts";
import { refusedValueMessage } from "./refused-values.ts";
import { createUrlSigner } from "./storage-signed-urls.ts";
import { mimeTypeAllowed, readUploadBody } from "./storage-upload-body.ts";

export const STORAGE_API_PREFIX = "/storage/v1/";

export interface StorageApiOptions {
  /** As supabase_storage_admin, to the database holding this project's `storage` schema. */
  sql: StorageSql;
  /** Where the bytes live. */
  dir: string;
  /** Signs and checks signed URLs. */
  jwtSecret: string;
  callerOf: CallerResolver;
  /** The project-wide upload limit (Free plan: 50 MB); a bucket's own limit can only lower it. */
  fileSizeLimit: () => number;
}

export function createStorageApi({ sql, dir, jwtSecret, callerOf, fileSizeLimit }: StorageApiOptions) {
  const files = createStorageFiles(dir);
  const buckets = createBuckets(sql, files);
  const objects = createObjects(sql, files);
  const signer = createUrlSigner(jwtSecret);

  /** A key hosted Storage refuses is answered as it answers it: `400 InvalidKey`, naming the key. */
  function assertKey(bucketId: string, name: string) {
    try {
      assertObjectKey(bucketId, name);
    } catch (error) {
      if ((error as { code?: string }).code === "invalid_storage_key") throw storageErrors.invalidKey(name);
      throw error;
    }
  }

  /** `pathname` starts with STORAGE_API_PREFIX (a project's prefix already removed). */
  return async function handleStorageApiRequest(request: Request, pathname: string): Promise<Response> {
    // A browser's preflight: Storage allows the headers supabase-js sends (the gateway adds the rest).
    if (request.method === "OPTIONS") {
      return new Response(null, {
        status: 204,
        headers: {
          "access-control-allow-headers":
            "authorization, x-client-info, apikey, content-type, x-upsert, cache-control, range, x-metadata",
        },
      });
    }
    try {
      let segments: string[];
      try {
        segments = pathname.slice(STORAGE_API_PREFIX.length).split("/").map(decodeURIComponent);
      } catch {
        throw storageErrors.invalidKey(pathname);
      }
      const [resource, ...rest] = segments;
      if (resource === "bucket") return await routeBucket(request, rest);
      if (resource === "object") return await routeObject(request, rest);
      throw storageErrors.notFoundRoute(`Route ${request.method}:${pathname} not found`);
    } catch (error) {
      if (error instanceof StorageApiError) return storageErrorResponse(error);
      if ((error as { code?: string }).code === "invalid_storage_key") {
        return storageErrorResponse(storageErrors.invalidKey((error as Error).message));
      }
      const refused = refusedValueMessage(error);
      if (refused) return storageErrorResponse(storageErrors.invalidInput(refused));
      throw error;
    }
  };

  async function routeBucket(request: Request, rest: string[]): Promise<Response> {
    const caller = await callerOf(request);
    const [id, action] = rest;
    const route = `${request.method} ${rest.length}${action ? ` ${action}` : ""}`;
    switch (route) {
      case "GET 0":
        return Response.json((await buckets.list(caller)).map(describeBucket));
      case "GET 1":
        return Response.json(describeBucket(await buckets.get(caller, id)));
      case "POST 0": {
        const body = await readJson(request);
        const name = body?.name ?? body?.id;
        const bucketId = body?.id ?? name;
        if (typeof name !== "string" || typeof bucketId !== "string") {
          throw storageErrors.invalidInput("body must have required property 'name'");
        }
        await buckets.create(caller, bucketId, name, parseBucketSettings(body!));
        return Response.json({ name });
      }
      case "PUT 1":
        await buckets.update(caller, id, parseBucketSettings(await readJson(request) ?? {}));
        return Response.json({ message: "Successfully updated" });
      case "DELETE 1":
        await buckets.remove(caller, id);
        return Response.json({ message: "Successfully deleted" });
      case "POST 2 empty":
        await buckets.empty(caller, id);
        return Response.json({ message: "Successfully emptied" });
    }
    throw storageErrors.notFoundRoute(`Route ${request.method}:/bucket/${rest.join("/")} not found`);
  }

  async function routeObject(request: Request, rest: string[]): Promise<Response> {
    const [first, ...after] = rest;
    const method = request.method === "HEAD" ? "GET" : request.method;
    // Reads that carry their own permission: a public bucket, or a signed URL.
    if (method === "GET" && first === "public") return await servePublic(request, after);
    if (method === "GET" && first === "sign") return await serveSigned(request, after);

    const caller = await callerOf(request);
    if (method === "POST" && first === "list" && after.length === 1) {
      const parsed = parseListRequest(await readJson(request));
      if (typeof parsed === "string") throw storageErrors.invalidInput(parsed);
      return Response.json(await listFolder(sql, caller, after[0], parsed));
    }
    if (method === "POST" && (first === "copy" || first === "move") && rest.length === 1) {
      const body = await readJson(request);
      const { bucketId, sourceKey, destinationKey } = body ?? {};
      const destinationBucket = body?.destinationBucket ?? bucketId;
      if (
        typeof bucketId !== "string" || typeof sourceKey !== "string" || typeof destinationKey !== "string" ||
        typeof destinationBucket !== "string"
      ) {
        throw storageErrors.invalidInput("body must have bucketId, sourceKey and destinationKey (strings)");
      }
      assertKey(bucketId, sourceKey);
      assertKey(destinationBucket, destinationKey);
      const from = { bucket: bucketId, name: sourceKey };
      const to = { bucket: destinationBucket, name: destinationKey };
      if (first === "move") return Response.json(await objects.move(caller, from, to));
      if (!await buckets.settingsOf(destinationBucket)) throw storageErrors.noSuchBucket();
      return Response.json(await objects.copy(caller, from, to, request.headers.get("x-upsert") === "true"));
    }
    if (method === "POST" && first === "sign") return await sign(request, caller, after);
    if (method === "DELETE" && rest.length === 1) {
      const prefixes = (await readJson(request))?.prefixes;
      if (!Array.isArray(prefixes) || prefixes.some((prefix) => typeof prefix !== "string")) {
        throw storageErrors.invalidInput("body must have required property 'prefixes' (strings)");
      }
      return Response.json(await objects.remove(caller, first, prefixes as string[]));
    }

    const [bucketId, ...path] = first === "authenticated" ? after : rest;
    const name = path.join("/");
    if (bucketId === undefined || name === "") throw storageErrors.invalidKey(rest.join("/"));
    assertKey(bucketId, name);
    if (method === "GET") {
      const row = await objects.find(caller, bucketId, name);
      if (!row) throw storageErrors.noSuchKey();
      return await serve(request, row, () => objects.find(caller, bucketId, name));
    }
    if (first === "authenticated") {
      throw storageErrors.notFoundRoute(`Route ${request.method}:/object/${rest.join("/")} not found`);
    }
    if (method === "POST" || method === "PUT") {
      const upsert = method === "PUT" || request.headers.get("x-upsert") === "true";
      return Response.json(await upload(request, caller, bucketId, name, upsert));
    }
    if (method === "DELETE") {
      if ((await objects.remove(caller, bucketId, [name])).length === 0) throw storageErrors.noSuchKey();
      return Response.json({ message: "Successfully deleted" });
    }
    throw storageErrors.notFoundRoute(`Route ${request.method}:/object/${rest.join("/")} not found`);
  }

  async function upload(
    request: Request,
    caller: Parameters<typeof objects.upload>[0],
    bucketId: string,
    name: string,
    upsert: boolean,
  ) {
    const bucket = await buckets.settingsOf(bucketId);
    if (!bucket) {
      await request.body?.cancel();
      throw storageErrors.noSuchBucket();
    }
    const limit = Math.min(bucket.file_size_limit ?? Infinity, fileSizeLimit());
    try {
      await objects.assertMayWrite(caller, bucketId, name, upsert);
    } catch (error) {
      await request.body?.cancel();
      throw error;
    }
    const body = await readUploadBody(request, limit);
    if (!mimeTypeAllowed(body.mimetype, bucket.allowed_mime_types)) {
      await body.stream.cancel();
      throw storageErrors.invalidMimeType(body.mimetype);
    }
    const file = await files.write(body.stream, limit);
    return await objects.upload(caller, bucketId, name, {
      file,
      mimetype: body.mimetype,
      cacheControl: body.cacheControl,
    }, upsert);
  }

  async function sign(
    request: Request,
    caller: Parameters<typeof objects.find>[0],
    after: string[],
  ): Promise<Response> {
    const body = await readJson(request);
    const expiresIn = body?.expiresIn;
    if (!Number.isInteger(expiresIn) || (expiresIn as number) < 1) {
      throw storageErrors.invalidInput("body must have expiresIn (integer >= 1)");
    }
    const [bucketId, ...path] = after;
    if (path.length === 0) {
      const paths = body?.paths;
      if (!Array.isArray(paths) || paths.some((p) => typeof p !== "string")) {
        throw storageErrors.invalidInput("body must have paths (strings)");
      }
      return Response.json(
        await Promise.all((paths as string[]).map(async (name) => {
          const row = await objects.find(caller, bucketId, name).catch(() => null);
          return row
            ? { error: null, path: name, signedURL: await signer.sign(bucketId, name, expiresIn as number) }
            : {
              error: "Either the object does not exist or you do not have access to it",
              path: name,
              signedURL: null,
            };
        })),
      );
    }
    const name = path.join("/");
    assertKey(bucketId, name);
    if (!await objects.find(caller, bucketId, name)) throw storageErrors.noSuchKey();
    return Response.json({ signedURL: await signer.sign(bucketId, name, expiresIn as number) });
  }

  async function servePublic(request: Request, path: string[]): Promise<Response> {
    const [bucketId, ...rest] = path;
    const name = rest.join("/");
    if (bucketId === undefined || name === "") throw storageErrors.invalidKey(path.join("/"));
    assertKey(bucketId, name);
    // Storage answers a private bucket's public URL as it answers a missing bucket.
    if (!(await buckets.settingsOf(bucketId))?.public) throw storageErrors.noSuchBucket();
    const row = await objects.findAny(bucketId, name);
    if (!row) throw storageErrors.noSuchKey();
    return await serve(request, row, () => objects.findAny(bucketId, name));
  }

  async function serveSigned(request: Request, path: string[]): Promise<Response> {
    const [bucketId, ...rest] = path;
    const name = rest.join("/");
    await signer.check(bucketId ?? "", name, new URL(request.url).searchParams.get("token"));
    const row = await objects.findAny(bucketId, name);
    if (!row) throw storageErrors.noSuchKey();
    return await serve(request, row, () => objects.findAny(bucketId, name));
  }

  /** Serves the row's version; if an upsert removed it meanwhile, the row is read once more. */
  async function serve(
    request: Request,
    row: ObjectRow,
    reread: () => Promise<ObjectRow | null>,
  ): Promise<Response> {
    const served = await serveObject(request, row, files.pathOf(row.version));
    if (served) return served;
    const again = await reread();
    const retried = again && await serveObject(request, again, files.pathOf(again.version));
    if (!retried) throw storageErrors.noSuchKey();
    return retried;
  }
}

function describeBucket(bucket: Bucket) {
  return {
    ...bucket,
    file_size_limit: bucket.file_size_limit === null ? null : Number(bucket.file_size_limit),
  };
}

function parseBucketSettings(body: Record<string, unknown>): BucketSettings {
  const settings: BucketSettings = {};
  if (body.public !== undefined) {
    if (typeof body.public !== "boolean") throw storageErrors.invalidInput("public must be a boolean");
    settings.public = body.public;
  }
  if (body.file_size_limit !== undefined) settings.file_size_limit = parseFileSize(body.file_size_limit);
  if (body.allowed_mime_types !== undefined && body.allowed_mime_types !== null) {
    if (
      !Array.isArray(body.allowed_mime_types) ||
      body.allowed_mime_types.some((type) => typeof type !== "string")
    ) {
      throw storageErrors.invalidInput("allowed_mime_types must be an array of strings");
    }
    settings.allowed_mime_types = body.allowed_mime_types as string[];
  } else if (body.allowed_mime_types === null) {
    settings.allowed_mime_types = null;
  }
  return settings;
}

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1000, mb: 1000 ** 2, gb: 1000 ** 3 };

/** A size limit as Storage takes it: bytes (number), or a string such as "20MB"; null clears it. */
function parseFileSize(value: unknown): number | null {
  if (value === null) return null;
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) {
    return value === 0 ? null : inRange(value);
  }
  const match = typeof value === "string" ? value.trim().match(/^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i) : null;
  if (!match) throw storageErrors.invalidInput("Invalid file size format, hint: use 20GB / 20MB / 30KB / 3B");
  return inRange(Math.round(Number(match[1]) * SIZE_UNITS[(match[2] ?? "b").toLowerCase()]));
}

/** A size the bucket's bigint column can hold (and JavaScript count exactly). */
function inRange(bytes: number): number {
  if (bytes > Number.MAX_SAFE_INTEGER) throw storageErrors.invalidInput("Invalid file size: out of range");
  return bytes;
}

async function readJson(request: Request): Promise<Record<string, unknown> | null> {
  try {
    const value = JSON.parse(await request.text());
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}
