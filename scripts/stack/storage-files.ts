/**
 * The bytes of the stack's Storage on disk: `<dir>/.objects/<version>`, one immutable file per object
 * version (a fresh UUID on every write), so any object name is safe and a reader holding a version
 * reads its bytes whole while a newer version is written beside it. Uploads are written to
 * `<dir>/.uploads/` first, counted against the size limit and hashed (the eTag), then renamed into place.
 * Dot-names, because functions in local storage mode still keep `<dir>/<bucket>/...` beside them.
 */
import { createHash } from "node:crypto";
import { link, mkdir, open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { storageErrors } from "./storage-errors.ts";

const VERSION = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface StoredFile {
  version: string;
  size: number;
  /** Hex MD5 of the bytes, as S3 (and so Storage) reports it in the eTag. */
  md5: string;
}

export function createStorageFiles(dir: string) {
  const objectsDir = join(dir, ".objects");
  const tempDir = join(dir, ".uploads");
  const ready = Promise.all([mkdir(objectsDir, { recursive: true }), mkdir(tempDir, { recursive: true })]);

  const pathOf = (version: string) => {
    // Versions come from storage.objects rows, which SQL can write too: never a path outside.
    if (!VERSION.test(version)) throw new Error(`not a stored version: ${JSON.stringify(version)}`);
    return join(objectsDir, version);
  };

  return {
    pathOf,

    /** Writes `body` as a new version; refuses with EntityTooLarge past `limitBytes`, keeping nothing. */
    async write(body: ReadableStream<Uint8Array>, limitBytes: number): Promise<StoredFile> {
      await ready;
      const version = crypto.randomUUID();
      const temp = join(tempDir, version);
      const hash = createHash("md5");
      let size = 0;
      const file = await open(temp, "wx");
      const reader = body.getReader();
      try {
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
          size += chunk.value.byteLength;
          if (size > limitBytes) throw storageErrors.entityTooLarge();
          hash.update(chunk.value);
          await file.write(chunk.value);
        }
        await file.sync();
      } catch (error) {
        await reader.cancel().catch(() => {});
        await file.close().catch(() => {});
        await rm(temp, { force: true });
        throw error;
      }
      await file.close();
      await rename(temp, pathOf(version));
      return { version, size, md5: hash.digest("hex") };
    },

    /** A new version with the same bytes (a hard link: versions are never written in place). */
    async duplicate(version: string): Promise<string> {
      await ready;
      const copy = crypto.randomUUID();
      await link(pathOf(version), pathOf(copy));
      return copy;
    },

    async remove(versions: (string | null)[]): Promise<void> {
      await Promise.all(
        versions.filter((v): v is string => !!v).map((version) => rm(pathOf(version), { force: true })),
      );
    },
  };
}

export type StorageFiles = ReturnType<typeof createStorageFiles>;
