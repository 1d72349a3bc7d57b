/** The storage backend of functions and workers: Supabase Storage's HTTP API, in every mode. */
import type { Config } from "../config.ts";
import type { Sql, TransactionSql } from "../db/client.ts";
import type { ObjectStorage } from "./storage.ts";
import { createSupabaseStorage } from "./supabase-storage.ts";

export type {
  BucketInfo,
  ListObjectsOptions,
  ObjectBody,
  ObjectInfo,
  ObjectStorage,
  ObjectStream,
  UploadOptions,
} from "./storage.ts";

export type StorageConfig = Pick<Config, "SUPABASE_URL" | "SUPABASE_SERVICE_ROLE_KEY">;

/** `sql` is the project's own database: listings read `storage.objects`. */
export function createStorage(config: StorageConfig, sql: Sql | TransactionSql): ObjectStorage {
  return createSupabaseStorage({
    supabaseUrl: config.SUPABASE_URL,
    serviceRoleKey: config.SUPABASE_SERVICE_ROLE_KEY,
    sql,
  });
}
