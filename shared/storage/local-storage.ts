/**
 * ObjectStorage on the local file system (layout in local-layout.ts), for the local stack and
 * tests. Runs under Deno and Node. Writes are atomic: readers see the old or the new file, never
 * a partial one. Each object's content type and cache control live in a sidecar, which the stack's
 * gateway serves them from.
 */
import { link, mkdir, open, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ConflictError } from "../errors.ts";
import { contentTypeFromExtension } from "./content-types.ts";
import { bucketFile, ignoreMissing, metaFile, type ObjectMeta, objectFile, readBucket, readObjectMeta } from "./local-layout.ts";
import { listFilesInOrder } from "./local-listing.ts";
import { assertBucketName, assertObjectKey, type BucketInfo, cacheControlHeader, compareObjectNames, joinPublicUrl, type ObjectBody, type ObjectStorage } from "./storage.ts";

export interface LocalStorageOptions {
  dir: string;
  /** e.g. http://127.0.0.1:54321/storage/v1/object/public */
  publicBaseUrl: string;
}

/** LocalStorage also manages buckets, for the gateway's stand-in of the Storage API. */
// Until the stack server stops using it (issue 13), file storage does not sign: nothing on the
// function/worker path uses it any more.
export interface LocalStorage extends Omit<ObjectStorage, "signedUrl" | "signedUrls"> {
  /** false when the bucket already exists (its settings are left as they are). */
  createBucket(id: string, options: { public: boolean }): Promise<boolean>;
  getBucket(id: string): Promise<BucketInfo | null>;
  readMeta(bucket: string, path: string): Promise<ObjectMeta>;
}

export function createLocalStorage({ dir, publicBaseUrl }: LocalStorageOptions): LocalStorage {
  const readMeta = async (bucket: string, path: string): Promise<ObjectMeta> =>
    await readObjectMeta(dir, bucket, path) ?? { contentType: contentTypeFromExtension(path), cacheControl: "no-cache" };

  return {
    async upload(bucket, path, body, { contentType, cacheControl, upsert = false }) {
      const target = objectFile(dir, bucket, path);
      await mkdir(dirname(target), { recursive: true });
      const temp = `${target}.${crypto.randomUUID()}.tmp`;
      try {
        await writeBody(temp, body);
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
      await writeAtomically(metaFile(dir, bucket, path), JSON.stringify({ contentType, cacheControl: cacheControlHeader(cacheControl) }));
      return { path };
    },

    async download(bucket, path) {
      const buffer = await readFile(objectFile(dir, bucket, path)).catch(ignoreMissing);
      return buffer && new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    },

    async downloadStream(bucket, path) {
      const file = await open(objectFile(dir, bucket, path), "r").catch(ignoreMissing);
      if (!file) return null;
      const { size } = await file.stat();
      return { body: fileStream(file), size };
    },

    publicUrl(bucket, path) {
      assertObjectKey(bucket, path);
      return joinPublicUrl(publicBaseUrl, bucket, path);
    },

    async remove(bucket, paths) {
      await Promise.all(paths.flatMap((path) => [
        rm(objectFile(dir, bucket, path), { force: true }),
        rm(metaFile(dir, bucket, path), { force: true }),
      ]));
    },

    async listBuckets() {
      const names = new Set<string>();
      for (const entry of (await readdir(dir, { withFileTypes: true }).catch(ignoreMissing)) ?? []) {
        if (entry.isDirectory() && !entry.name.startsWith(".")) names.add(entry.name);
      }
      for (const name of (await readdir(join(dir, ".buckets")).catch(ignoreMissing)) ?? []) {
        if (name.endsWith(".json")) names.add(name.slice(0, -".json".length));
      }
      const buckets = await Promise.all([...names].sort(compareObjectNames).map((name) => readBucket(dir, name)));
      return buckets.filter((bucket): bucket is BucketInfo => bucket !== null);
    },

    async listObjects(bucket, { after, limit }) {
      assertBucketName(bucket);
      const files = await listFilesInOrder(join(dir, bucket), after, limit);
      return await Promise.all(files.map(async ({ name, size }) => ({ name, size, ...await readMeta(bucket, name) })));
    },

    async createBucket(id, options) {
      const file = bucketFile(dir, id);
      if (await readBucket(dir, id)) return false;
      await mkdir(dirname(file), { recursive: true });
      const created = await writeFile(file, JSON.stringify({ id, public: options.public }), { flag: "wx" }).then(
        () => true,
        (error) => {
          if (error?.code === "EEXIST") return false;
          throw error;
        },
      );
      await mkdir(join(dir, id), { recursive: true });
      return created;
    },

    getBucket: (id) => readBucket(dir, id),
    readMeta,
  };
}

async function writeBody(path: string, body: ObjectBody): Promise<void> {
  if (body instanceof Uint8Array) return await writeFile(path, body);
  const file = await open(path, "wx");
  const reader = body.getReader();
  try {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) await file.write(chunk.value);
  } catch (error) {
    await reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    await file.close();
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  await writeFile(temp, text);
  await rename(temp, path);
}

type FileHandle = Awaited<ReturnType<typeof open>>;

/** A file as a web stream, read 64 KiB at a time; closes the file when done or cancelled. */
function fileStream(file: FileHandle): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const buffer = new Uint8Array(64 * 1024);
        const { bytesRead } = await file.read(buffer, 0, buffer.byteLength, null);
        if (bytesRead === 0) {
          controller.close();
          await file.close();
        } else {
          controller.enqueue(buffer.subarray(0, bytesRead));
        }
      } catch (error) {
        await file.close().catch(() => {});
        controller.error(error);
      }
    },
    cancel: () => file.close(),
  });
}
