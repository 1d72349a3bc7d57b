/**
 * ObjectStorage on Supabase Storage: uploads, removals and signed URLs through storage-js (what
 * supabase-js's `.storage` is) with the service role key; streamed downloads over the Storage API directly (supabase-js buffers a download into
 * a Blob); listings in SQL over the `storage` schema.
 *
 * Why SQL for listings: `storage.objects` holds every object with its full path, and the index
 * `idx_objects_bucket_id_name` on (bucket_id, name collate "C") makes "the next N names after X"
 * one index range scan. The API's list is one folder at a time (a walk needs a request per folder)
 * and pages by offset, which rescans from the start on every page and skips or repeats names when
 * objects are added meanwhile. The database role (SUPABASE_DB_URL, `postgres`) bypasses RLS.
 */
import { StorageClient } from "@supabase/storage-js";
import type { Sql, TransactionSql } from "../db/client.ts";
import { ConflictError } from "../errors.ts";
import { assertBucketName, assertObjectKey, cacheControlHeader, type ObjectStorage } from "./storage.ts";

export interface SupabaseStorageOptions {
  supabaseUrl: string;
  serviceRoleKey: string;
  /** The project's own database (SUPABASE_DB_URL), for listings: a pool, or a caller's transaction. */
  sql: Sql | TransactionSql;
}

interface StorageErrorShape {
  status?: number;
  statusCode?: string;
  message?: string;
}

// Storage answers "not found" as 404 or as 400 with statusCode "404"/"not_found", by version.
function isNotFound(error: StorageErrorShape): boolean {
  return error.status === 404 || error.statusCode === "404" || error.statusCode === "not_found" ||
    error.statusCode === "NoSuchKey";
}

function isAlreadyExists(error: StorageErrorShape): boolean {
  return error.status === 409 || error.statusCode === "409" || error.statusCode === "Duplicate";
}

export function createSupabaseStorage(
  { supabaseUrl, serviceRoleKey, sql }: SupabaseStorageOptions,
): ObjectStorage {
  // storage-js alone (supabase-js's `.storage` is this same client): supabase-js would also build
  // a realtime client, which under Node 20 (tests, scripts) has no WebSocket to build it with.
  let client: StorageClient | undefined;
  const storage = () =>
    client ??= new StorageClient(`${supabaseUrl.replace(/\/+$/, "")}/storage/v1`, {
      apikey: serviceRoleKey,
      authorization: `Bearer ${serviceRoleKey}`,
    });

  return {
    async upload(bucket, path, body, { contentType, cacheControl, upsert = false }) {
      assertObjectKey(bucket, path);
      // The header is set whole: supabase-js would turn a value like "no-cache" into "max-age=no-cache".
      const { error } = await storage().from(bucket).upload(path, body, {
        contentType,
        upsert,
        headers: { "cache-control": cacheControlHeader(cacheControl) },
      });
      if (error) {
        if (isAlreadyExists(error as StorageErrorShape)) {
          throw new ConflictError("storage_object_exists", `${bucket}/${path} already exists`);
        }
        throw new Error(`storage upload of ${bucket}/${path} failed: ${error.message}`);
      }
      return { path };
    },

    async download(bucket, path) {
      assertObjectKey(bucket, path);
      const { data, error } = await storage().from(bucket).download(path);
      if (error) {
        if (isNotFound(error as StorageErrorShape)) return null;
        throw new Error(`storage download of ${bucket}/${path} failed: ${error.message}`);
      }
      return new Uint8Array(await data.arrayBuffer());
    },

    async downloadStream(bucket, path) {
      assertObjectKey(bucket, path);
      const url = `${supabaseUrl.replace(/\/+$/, "")}/storage/v1/object/authenticated/${bucket}/${
        path.split("/").map(encodeURIComponent).join("/")
      }`;
      const response = await fetch(url, {
        headers: { authorization: `Bearer ${serviceRoleKey}`, apikey: serviceRoleKey },
      });
      if (response.ok && response.body) {
        const length = response.headers.get("content-length");
        return { body: response.body, size: length === null ? null : Number(length) };
      }
      const text = await response.text();
      let error: StorageErrorShape = { status: response.status };
      try {
        error = { ...JSON.parse(text), status: response.status };
      } catch { /* not JSON: judged by its status */ }
      if (isNotFound(error)) return null;
      throw new Error(
        `storage download of ${bucket}/${path} failed: ${response.status} ${text.slice(0, 200)}`,
      );
    },

    publicUrl(bucket, path) {
      assertObjectKey(bucket, path);
      return storage().from(bucket).getPublicUrl(path).data.publicUrl;
    },

    async signedUrl(bucket, path, expiresInSeconds) {
      assertObjectKey(bucket, path);
      const { data, error } = await storage().from(bucket).createSignedUrl(path, expiresInSeconds);
      if (error) {
        if (isNotFound(error as StorageErrorShape)) return null;
        throw new Error(`storage signing of ${bucket}/${path} failed: ${error.message}`);
      }
      return data.signedUrl;
    },

    async signedUrls(bucket, paths, expiresInSeconds) {
      paths.forEach((path) => assertObjectKey(bucket, path));
      if (paths.length === 0) return [];
      const { data, error } = await storage().from(bucket).createSignedUrls(paths, expiresInSeconds);
      if (error) throw new Error(`storage signing in ${bucket} failed: ${error.message}`);
      // Storage answers per path (a missing object has an error and no URL); matched by path, not position.
      const byPath = new Map(data.map((entry) => [entry.path, entry.error ? null : entry.signedUrl]));
      return paths.map((path) => byPath.get(path) ?? null);
    },

    async remove(bucket, paths) {
      paths.forEach((path) => assertObjectKey(bucket, path));
      if (paths.length === 0) return;
      const { error } = await storage().from(bucket).remove(paths);
      if (error) throw new Error(`storage remove in ${bucket} failed: ${error.message}`);
    },

    async listBuckets() {
      const rows = await sql`select id, public from storage.buckets order by id collate "C"`;
      return rows.map((row) => ({ id: row.id as string, public: row.public === true }));
    },

    async listObjects(bucket, { after, limit }) {
      assertBucketName(bucket);
      const rows = await sql`
        select name, coalesce((metadata ->> 'size')::bigint, 0)::float8 as size,
               metadata ->> 'mimetype' as content_type, metadata ->> 'cacheControl' as cache_control
          from storage.objects
         where bucket_id = ${bucket} and name collate "C" > ${after ?? ""}
         order by name collate "C"
         limit ${limit}`;
      return rows.map((row) => ({
        name: row.name as string,
        size: row.size as number,
        contentType: row.content_type as string | null,
        cacheControl: row.cache_control as string | null,
      }));
    },
  };
}
