/** Picks the storage backend from the function's config: Supabase Storage or local files. */
import type { Config } from "../config.ts";
import type { Sql } from "../db/client.ts";
import { createLocalStorage } from "./local-storage.ts";
import type { ObjectStorage } from "./storage.ts";
import { createSupabaseStorage } from "./supabase-storage.ts";

export type { BucketInfo, ListObjectsOptions, ObjectBody, ObjectInfo, ObjectStorage, ObjectStream, UploadOptions } from "./storage.ts";

export type StorageConfig = Pick<
  Config,
  "REELFORGE_STORAGE_MODE" | "REELFORGE_STORAGE_DIR" | "REELFORGE_STORAGE_PUBLIC_URL" | "SUPABASE_URL" | "SUPABASE_SERVICE_ROLE_KEY"
>;

/** `sql` is the project's own database: hosted listings read `storage.objects`. */
export function createStorage(config: StorageConfig, sql: Sql): ObjectStorage {
  if (config.REELFORGE_STORAGE_MODE === "local") {
    if (!config.REELFORGE_STORAGE_DIR || !config.REELFORGE_STORAGE_PUBLIC_URL) {
      throw new Error("local storage needs REELFORGE_STORAGE_DIR and REELFORGE_STORAGE_PUBLIC_URL");
    }
    return createLocalStorage({ dir: config.REELFORGE_STORAGE_DIR, publicBaseUrl: config.REELFORGE_STORAGE_PUBLIC_URL });
  }
  return createSupabaseStorage({ supabaseUrl: config.SUPABASE_URL, serviceRoleKey: config.SUPABASE_SERVICE_ROLE_KEY, sql });
}
