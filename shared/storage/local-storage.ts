/**
 * ObjectStorage on the local file system (`<dir>/<bucket>/<path>`), for the local stack and
 * tests. Runs under Deno and Node. Writes are atomic: readers see the old or the new file, never
 * a partial one. The content type is not stored; the stack's gateway derives it from the extension.
 */
import { link, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ConflictError } from "../errors.ts";
import { assertObjectKey, joinPublicUrl, type ObjectStorage } from "./storage.ts";

export interface LocalStorageOptions {
  dir: string;
  /** e.g. http://127.0.0.1:54321/storage/v1/object/public */
  publicBaseUrl: string;
}

export function createLocalStorage({ dir, publicBaseUrl }: LocalStorageOptions): ObjectStorage {
  const filePath = (bucket: string, path: string) => {
    assertObjectKey(bucket, path);
    return join(dir, bucket, ...path.split("/"));
  };

  return {
    async upload(bucket, path, bytes, { upsert = false }) {
      const target = filePath(bucket, path);
      await mkdir(dirname(target), { recursive: true });
      const temp = `${target}.${crypto.randomUUID()}.tmp`;
      await writeFile(temp, bytes);
      try {
        if (upsert) {
          await rename(temp, target);
        } else {
          // link() fails if the target exists, so two racing uploads cannot both win.
          await link(temp, target).catch((error) => {
            if (error?.code === "EEXIST") throw new ConflictError("storage_object_exists", `${bucket}/${path} already exists`);
            throw error;
          });
        }
      } finally {
        await rm(temp, { force: true });
      }
      return { path };
    },

    async download(bucket, path) {
      try {
        const buffer = await readFile(filePath(bucket, path));
        return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      } catch (error) {
        if ((error as { code?: string })?.code === "ENOENT") return null;
        throw error;
      }
    },

    publicUrl(bucket, path) {
      assertObjectKey(bucket, path);
      return joinPublicUrl(publicBaseUrl, bucket, path);
    },

    async remove(bucket, paths) {
      await Promise.all(paths.map((path) => rm(filePath(bucket, path), { force: true })));
    },
  };
}
