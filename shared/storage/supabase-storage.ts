/** ObjectStorage on Supabase Storage through supabase-js, with the service role key. */
import { createClient } from "@supabase/supabase-js";
import { ConflictError } from "../errors.ts";
import { assertObjectKey, type ObjectStorage } from "./storage.ts";

export interface SupabaseStorageOptions {
  supabaseUrl: string;
  serviceRoleKey: string;
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

export function createSupabaseStorage({ supabaseUrl, serviceRoleKey }: SupabaseStorageOptions): ObjectStorage {
  const { storage } = createClient(supabaseUrl, serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false },
  });

  return {
    async upload(bucket, path, bytes, { contentType, cacheControl, upsert = false }) {
      assertObjectKey(bucket, path);
      const { error } = await storage.from(bucket).upload(path, bytes, { contentType, cacheControl, upsert });
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
      const { data, error } = await storage.from(bucket).download(path);
      if (error) {
        if (isNotFound(error as StorageErrorShape)) return null;
        throw new Error(`storage download of ${bucket}/${path} failed: ${error.message}`);
      }
      return new Uint8Array(await data.arrayBuffer());
    },

    publicUrl(bucket, path) {
      assertObjectKey(bucket, path);
      return storage.from(bucket).getPublicUrl(path).data.publicUrl;
    },

    async remove(bucket, paths) {
      paths.forEach((path) => assertObjectKey(bucket, path));
      if (paths.length === 0) return;
      const { error } = await storage.from(bucket).remove(paths);
      if (error) throw new Error(`storage remove in ${bucket} failed: ${error.message}`);
    },
  };
}
