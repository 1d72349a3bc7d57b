/**
 * Objects of the stack's Storage API: a `storage.objects` row per object (metadata as Storage keeps
 * it) naming the version file that holds its bytes (storage-files.ts). A write puts the new version
 * on disk first, then points the row at it, then deletes the version it replaced: a reader sees the
 * old bytes or the new, and after a crash the row always names a complete file (at worst an
 * unreferenced file stays behind).
 */
import { storageErrors } from "./storage-errors.ts";
import type { StorageFiles, StoredFile } from "./storage-files.ts";
import {
  asCaller,
  type Caller,
  pgCode,
  RLS_VIOLATION,
  type StorageSql,
  type StorageTx,
  UNIQUE_VIOLATION,
} from "./storage-db.ts";

// A type, not an interface: it is stored as jsonb (storage.objects.metadata).
export type ObjectMetadata = {
  eTag: string;
  size: number;
  mimetype: string;
  cacheControl: string;
  lastModified: string;
  contentLength: number;
  httpStatusCode: number;
};

export interface ObjectRow {
  id: string;
  bucket_id: string;
  name: string;
  owner: string | null;
  owner_id: string | null;
  version: string;
  metadata: ObjectMetadata;
  user_metadata: Record<string, unknown> | null;
  created_at: string;
  updated_at: string;
  last_accessed_at: string;
}

/** The row place() wrote, and the version it replaced (its file is removed). */
type Placed = { id: string; replaced: string | null };

export interface UploadedContent {
  file: StoredFile;
  mimetype: string;
  cacheControl: string;
}

export function createObjects(sql: StorageSql, files: StorageFiles) {
  const ownerOf = (caller: Caller) => typeof caller.claims.sub === "string" ? caller.claims.sub : null;

  async function findRow(
    tx: StorageTx | StorageSql,
    bucket: string,
    name: string,
  ): Promise<ObjectRow | null> {
    const [row] = await tx`select * from storage.objects where bucket_id = ${bucket} and name = ${name}`;
    return (row as ObjectRow | undefined) ?? null;
  }

  /** Writes the row pointing (bucket, name) at `version` as the caller; `upsert` replaces one. */
  async function writeRow(
    tx: StorageTx,
    owner: string | null,
    bucket: string,
    name: string,
    version: string,
    metadata: ObjectMetadata,
    upsert: boolean,
  ): Promise<Placed[]> {
    if (!upsert) {
      return await tx<Placed[]>`
        insert into storage.objects (bucket_id, name, owner, owner_id, version, metadata)
        values (${bucket}, ${name}, ${owner}, ${owner}, ${version}, ${tx.json(metadata)})
        on conflict on constraint bucketid_objname do nothing
        returning id, null as replaced`;
    }
    // Locked first, so the version it replaces is known (the statement below cannot see it).
    const [old] =
      await tx`select version from storage.objects where bucket_id = ${bucket} and name = ${name} for update`;
    return await tx<Placed[]>`
      insert into storage.objects (bucket_id, name, owner, owner_id, version, metadata)
      values (${bucket}, ${name}, ${owner}, ${owner}, ${version}, ${tx.json(metadata)})
      on conflict on constraint bucketid_objname do update
        set version = excluded.version, metadata = excluded.metadata, owner = excluded.owner,
            owner_id = excluded.owner_id, updated_at = now(), last_accessed_at = now()
      returning id, ${old?.version ?? null}::text as replaced`;
  }

  /** RLS's and the table's refusals of a write, as Storage answers them. */
  function refusal(error: unknown): unknown {
    if (pgCode(error) === RLS_VIOLATION) {
      return storageErrors.accessDenied("new row violates row-level security policy");
    }
    if (pgCode(error) === "23503") return storageErrors.noSuchBucket();
    return error;
  }

  /** Points (bucket, name) at a version already on disk; `upsert` replaces an existing object. */
  async function place(
    caller: Caller,
    bucket: string,
    name: string,
    version: string,
    metadata: ObjectMetadata,
    upsert: boolean,
  ): Promise<Placed> {
    try {
      const rows = await asCaller(
        sql,
        caller,
        (tx) => writeRow(tx, ownerOf(caller), bucket, name, version, metadata, upsert),
      );
      if (rows.length === 0) throw storageErrors.duplicate();
      return rows[0];
    } catch (error) {
      await files.remove([version]);
      throw refusal(error);
    }
  }

  /**
   * Refuses a write the caller may not make before its bytes are read, as hosted Storage does (its
   * uploader tests the permission first: the same write in a transaction rolled back). Before, the
   * stand-in stored and hashed a refused upload's whole body (up to the 50 MB limit, from anyone
   * holding the anon key) and only then asked RLS.
   */
  async function assertMayWrite(caller: Caller, bucket: string, name: string, upsert: boolean) {
    const allowed = new Error("allowed: rolled back");
    const metadata = { size: 0 } as ObjectMetadata;
    try {
      await asCaller(sql, caller, async (tx) => {
        const rows = await writeRow(tx, ownerOf(caller), bucket, name, "permission-test", metadata, upsert);
        if (rows.length === 0) throw storageErrors.duplicate();
        throw allowed;
      });
    } catch (error) {
      if (error !== allowed) throw refusal(error);
    }
  }

  return {
    assertMayWrite,
    /** The object's row if the caller may read it. */
    async find(caller: Caller, bucket: string, name: string): Promise<ObjectRow | null> {
      return await asCaller(sql, caller, (tx) => findRow(tx, bucket, name));
    },

    /** The row whoever asks (a signed URL or a public bucket already granted the read). */
    findAny: (bucket: string, name: string) => findRow(sql, bucket, name),

    async upload(caller: Caller, bucket: string, name: string, content: UploadedContent, upsert: boolean) {
      const metadata: ObjectMetadata = {
        eTag: `"${content.file.md5}"`,
        size: content.file.size,
        mimetype: content.mimetype,
        cacheControl: content.cacheControl,
        lastModified: new Date().toISOString(),
        contentLength: content.file.size,
        httpStatusCode: 200,
      };
      const placed = await place(caller, bucket, name, content.file.version, metadata, upsert);
      await files.remove([placed.replaced]);
      return { Id: placed.id, Key: `${bucket}/${name}` };
    },

    /** Deletes the named objects the caller may delete; answers the deleted rows, as Storage does. */
    async remove(caller: Caller, bucket: string, names: string[]): Promise<ObjectRow[]> {
      const rows = await asCaller(
        sql,
        caller,
        (tx) =>
          tx<
            ObjectRow[]
          >`delete from storage.objects where bucket_id = ${bucket} and name = any(${names}::text[]) returning *`,
      );
      await files.remove(rows.map((row) => row.version));
      return rows;
    },

    async copy(
      caller: Caller,
      from: { bucket: string; name: string },
      to: { bucket: string; name: string },
      upsert: boolean,
    ) {
      const source = await asCaller(sql, caller, (tx) => findRow(tx, from.bucket, from.name));
      if (!source) throw storageErrors.noSuchKey();
      const version = await files.duplicate(source.version);
      const metadata = { ...source.metadata, lastModified: new Date().toISOString() };
      const placed = await place(caller, to.bucket, to.name, version, metadata, upsert);
      await files.remove([placed.replaced]);
      return { Id: placed.id, Key: `${to.bucket}/${to.name}` };
    },

    /** Renames the row; the bytes stay where they are (files are keyed by version, not name). */
    async move(caller: Caller, from: { bucket: string; name: string }, to: { bucket: string; name: string }) {
      try {
        const rows = await asCaller(sql, caller, (tx) =>
          tx`
          update storage.objects set bucket_id = ${to.bucket}, name = ${to.name}, updated_at = now()
           where bucket_id = ${from.bucket} and name = ${from.name} returning id`);
        if (rows.length === 0) throw storageErrors.noSuchKey();
      } catch (error) {
        if (pgCode(error) === UNIQUE_VIOLATION) throw storageErrors.duplicate();
        if (pgCode(error) === RLS_VIOLATION) {
          throw storageErrors.accessDenied("new row violates row-level security policy");
        }
        if (pgCode(error) === "23503") throw storageErrors.noSuchBucket();
        throw error;
      }
      return { message: "Successfully moved" };
    },
  };
}

export type Objects = ReturnType<typeof createObjects>;
