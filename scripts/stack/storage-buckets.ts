/**
 * Buckets of the stack's Storage API, rows of `storage.buckets` read and written as the caller
 * (storage-db.ts): create, get, list, update, delete (refused while objects remain), empty.
 */
import { storageErrors } from "./storage-errors.ts";
import type { StorageFiles } from "./storage-files.ts";
import {
  asCaller,
  type Caller,
  pgCode,
  RLS_VIOLATION,
  type StorageSql,
  UNIQUE_VIOLATION,
} from "./storage-db.ts";

export interface Bucket {
  id: string;
  name: string;
  owner: string;
  public: boolean;
  type: string;
  file_size_limit: number | null;
  allowed_mime_types: string[] | null;
  created_at: string;
  updated_at: string;
}

export interface BucketSettings {
  public?: boolean;
  file_size_limit?: number | null;
  allowed_mime_types?: string[] | null;
}

const BUCKET_NAME = /^[A-Za-z0-9_][A-Za-z0-9_ !.*'()&$@=;:+,?-]{0,99}$/;

export function createBuckets(sql: StorageSql, files: StorageFiles) {
  const columns =
    sql`id, name, coalesce(owner_id, owner::text, '') as owner, coalesce(public, false) as public, type,
                      file_size_limit::float8 as file_size_limit, allowed_mime_types, created_at, updated_at`;

  return {
    async list(caller: Caller): Promise<Bucket[]> {
      return await asCaller(
        sql,
        caller,
        (tx) => tx<Bucket[]>`select ${columns} from storage.buckets order by name collate "C"`,
      );
    },

    async get(caller: Caller, id: string): Promise<Bucket> {
      const [bucket] = await asCaller(
        sql,
        caller,
        (tx) => tx`select ${columns} from storage.buckets where id = ${id}`,
      );
      if (!bucket) throw storageErrors.noSuchBucket();
      return bucket as Bucket;
    },

    /** The bucket whatever the caller may see: its limits apply to every upload. */
    async settingsOf(id: string): Promise<Bucket | null> {
      const [bucket] = await sql`select ${columns} from storage.buckets where id = ${id}`;
      return (bucket as Bucket | undefined) ?? null;
    },

    async create(caller: Caller, id: string, name: string, settings: BucketSettings): Promise<void> {
      if (!BUCKET_NAME.test(id) || id === "." || id === "..") throw storageErrors.invalidBucketName();
      const owner = typeof caller.claims.sub === "string" ? caller.claims.sub : null;
      try {
        await asCaller(sql, caller, (tx) =>
          tx`
          insert into storage.buckets (id, name, owner, owner_id, public, file_size_limit, allowed_mime_types)
          values (${id}, ${name}, ${owner}, ${owner}, ${settings.public ?? false}, ${
            settings.file_size_limit ?? null
          },
                  ${settings.allowed_mime_types ?? null})`);
      } catch (error) {
        throw translate(error);
      }
    },

    async update(caller: Caller, id: string, settings: BucketSettings): Promise<void> {
      const change: Record<string, unknown> = {};
      for (const key of ["public", "file_size_limit", "allowed_mime_types"] as const) {
        if (settings[key] !== undefined) change[key] = settings[key];
      }
      const rows = await asCaller(
        sql,
        caller,
        (tx) =>
          Object.keys(change).length === 0
            ? tx`select id from storage.buckets where id = ${id}`
            : tx`update storage.buckets set ${tx(change)}, updated_at = now() where id = ${id} returning id`,
      ).catch((error) => {
        throw translate(error);
      });
      if (rows.length === 0) throw storageErrors.noSuchBucket();
    },

    async remove(caller: Caller, id: string): Promise<void> {
      const rows = await asCaller(sql, caller, async (tx) => {
        const [used] = await tx`select exists (select from storage.objects where bucket_id = ${id}) as used`;
        if (used.used) throw storageErrors.bucketNotEmpty();
        return await tx`delete from storage.buckets where id = ${id} returning id`;
      }).catch((error) => {
        throw translate(error);
      });
      if (rows.length === 0) throw storageErrors.noSuchBucket();
    },

    /** Deletes every object of the bucket; the files go once the rows are gone. */
    async empty(caller: Caller, id: string): Promise<void> {
      const versions = await asCaller(sql, caller, async (tx) => {
        const [bucket] = await tx`select id from storage.buckets where id = ${id}`;
        if (!bucket) throw storageErrors.noSuchBucket();
        return await tx`delete from storage.objects where bucket_id = ${id} returning version`;
      }).catch((error) => {
        throw translate(error);
      });
      await files.remove(versions.map((row) => row.version as string | null));
    },
  };
}

export type Buckets = ReturnType<typeof createBuckets>;

function translate(error: unknown): unknown {
  if (pgCode(error) === UNIQUE_VIOLATION) return storageErrors.duplicate();
  if (pgCode(error) === RLS_VIOLATION) {
    return storageErrors.accessDenied("new row violates row-level security policy");
  }
  return error;
}
