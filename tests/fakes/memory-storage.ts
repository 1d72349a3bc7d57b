/**
 * An in-memory ObjectStorage for unit tests of code that only moves bytes (no listing across
 * processes, no HTTP): what Storage keeps is what was uploaded whole; a body that fails while it is
 * read stores nothing. URLs have the hosted shape under `baseUrl`; signing is a marked URL, not a
 * token (signed URLs are tested against the stack's Storage, tests/integration/signed-urls.test.ts).
 */
import { ConflictError } from "../../shared/errors.ts";
import { assertObjectKey, compareObjectNames, joinPublicUrl, type ObjectBody, type ObjectStorage } from "../../shared/storage/storage.ts";

export interface MemoryStorage extends ObjectStorage {
  objects: Map<string, { bytes: Uint8Array; contentType: string; cacheControl: string }>;
}

async function readAll(body: ObjectBody): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return body;
  return new Uint8Array(await new Response(body).arrayBuffer());
}

export function createMemoryStorage(baseUrl = "http://127.0.0.1:54321"): MemoryStorage {
  const objects: MemoryStorage["objects"] = new Map();
  const key = (bucket: string, path: string) => `${bucket}/${path}`;
  const publicUrl = (bucket: string, path: string) => joinPublicUrl(`${baseUrl}/storage/v1/object/public`, bucket, path);
  return {
    objects,
    async upload(bucket, path, body, { contentType, cacheControl = "3600", upsert = false }) {
      assertObjectKey(bucket, path);
      const bytes = await readAll(body);
      if (!upsert && objects.has(key(bucket, path))) throw new ConflictError("storage_object_exists", `${bucket}/${path} already exists`);
      objects.set(key(bucket, path), { bytes, contentType, cacheControl });
      return { path };
    },
    async download(bucket, path) {
      return objects.get(key(bucket, path))?.bytes ?? null;
    },
    async downloadStream(bucket, path) {
      const object = objects.get(key(bucket, path));
      return object ? { body: new Response(object.bytes).body!, size: object.bytes.byteLength } : null;
    },
    publicUrl,
    async signedUrl(bucket, path, expiresInSeconds) {
      return objects.has(key(bucket, path)) ? `${publicUrl(bucket, path).replace("/object/public/", "/object/sign/")}?token=memory-${expiresInSeconds}` : null;
    },
    async signedUrls(bucket, paths, expiresInSeconds) {
      return await Promise.all(paths.map((path) => this.signedUrl(bucket, path, expiresInSeconds)));
    },
    async remove(bucket, paths) {
      for (const path of paths) objects.delete(key(bucket, path));
    },
    async listBuckets() {
      const ids = [...new Set([...objects.keys()].map((k) => k.split("/")[0]))].sort(compareObjectNames);
      return ids.map((id) => ({ id, public: false }));
    },
    async listObjects(bucket, { after, limit }) {
      return [...objects.entries()]
        .filter(([k]) => k.startsWith(`${bucket}/`))
        .map(([k, o]) => ({ name: k.slice(bucket.length + 1), size: o.bytes.byteLength, contentType: o.contentType, cacheControl: o.cacheControl }))
        .filter((o) => after === undefined || compareObjectNames(o.name, after) > 0)
        .sort((a, b) => compareObjectNames(a.name, b.name))
        .slice(0, limit);
    },
  };
}
