/**
 * An in-memory ObjectStorage for unit tests of code that only moves bytes (no listing across
 * processes, no HTTP): what Storage keeps is what was uploaded whole; a body that fails while it is
 * read stores nothing. URLs have the hosted shape under `baseUrl`; signing is a marked URL, not a
 * token (signed URLs are tested against the stack's Storage, tests/integration/signed-urls.test.ts).
 */
import { ConflictError } from "../../shared/errors.ts";
import {
  assertObjectKey,
  cacheControlHeader,
  compareObjectNames,
  joinPublicUrl,
  type ObjectBody,
  type ObjectStorage,
} from "../../shared/storage/storage.ts";

export interface MemoryStorage extends ObjectStorage {
  objects: Map<string, { bytes: Uint8Array; contentType: string; cacheControl: string }>;
  /** Bucket id → public; an upload into a bucket not created here creates it private. */
  buckets: Map<string, boolean>;
  /** false when the bucket exists already (its setting is left as it is). */
  createBucket(id: string, options: { public: boolean }): Promise<boolean>;
}

async function readAll(body: ObjectBody): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return body;
  return new Uint8Array(await new Response(body).arrayBuffer());
}

export function createMemoryStorage(baseUrl = "http://127.0.0.1:54321"): MemoryStorage {
  const objects: MemoryStorage["objects"] = new Map();
  const buckets: MemoryStorage["buckets"] = new Map();
  const key = (bucket: string, path: string) => `${bucket}/${path}`;
  const publicUrl = (bucket: string, path: string) =>
    joinPublicUrl(`${baseUrl}/storage/v1/object/public`, bucket, path);
  return {
    objects,
    buckets,
    async createBucket(id, options) {
      if (buckets.has(id)) return false;
      buckets.set(id, options.public);
      return true;
    },
    async upload(bucket, path, body, { contentType, cacheControl = "3600", upsert = false }) {
      assertObjectKey(bucket, path);
      const bytes = await readAll(body);
      if (!buckets.has(bucket)) buckets.set(bucket, false);
      if (!upsert && objects.has(key(bucket, path))) {
        throw new ConflictError("storage_object_exists", `${bucket}/${path} already exists`);
      }
      objects.set(key(bucket, path), { bytes, contentType, cacheControl: cacheControlHeader(cacheControl) });
      return { path };
    },
    async download(bucket, path) {
      return objects.get(key(bucket, path))?.bytes ?? null;
    },
    async downloadStream(bucket, path) {
      const object = objects.get(key(bucket, path));
      // slice(): the bytes over an ArrayBuffer, as a Response body takes them (it copies them anyway).
      return object
        ? { body: new Response(object.bytes.slice()).body!, size: object.bytes.byteLength }
        : null;
    },
    publicUrl,
    async signedUrl(bucket, path, expiresInSeconds) {
      return objects.has(key(bucket, path))
        ? `${
          publicUrl(bucket, path).replace("/object/public/", "/object/sign/")
        }?token=memory-${expiresInSeconds}`
        : null;
    },
    async signedUrls(bucket, paths, expiresInSeconds) {
      return await Promise.all(paths.map((path) => this.signedUrl(bucket, path, expiresInSeconds)));
    },
    async remove(bucket, paths) {
      for (const path of paths) objects.delete(key(bucket, path));
    },
    async listBuckets() {
      return [...buckets].map(([id, isPublic]) => ({ id, public: isPublic })).sort((a, b) =>
        compareObjectNames(a.id, b.id)
      );
    },
    async listObjects(bucket, { after, limit }) {
      return [...objects.entries()]
        .filter(([k]) => k.startsWith(`${bucket}/`))
        .map(([k, o]) => ({
          name: k.slice(bucket.length + 1),
          size: o.bytes.byteLength,
          contentType: o.contentType,
          cacheControl: o.cacheControl,
        }))
        .filter((o) => after === undefined || compareObjectNames(o.name, after) > 0)
        .sort((a, b) => compareObjectNames(a.name, b.name))
        .slice(0, limit);
    },
  };
}

/**
 * The few routes of Supabase Storage's API that a clone target is called with (create and list
 * buckets, upload with x-upsert, list one folder), over a MemoryStorage: for unit tests that call
 * another project through fetch without a server. The service role key is the only key it takes.
 */
export function memoryStorageApi(storage: MemoryStorage, serviceRoleKey: string) {
  const error = (status: number, statusCode: string, message: string) =>
    Response.json({ statusCode, error: statusCode, message }, { status });
  return async (request: Request): Promise<Response> => {
    if (request.headers.get("authorization") !== `Bearer ${serviceRoleKey}`) {
      return error(401, "401", "invalid signature");
    }
    const path = new URL(request.url).pathname.replace(/^\/storage\/v1/, "");
    if (path === "/bucket" && request.method === "GET") return Response.json(await storage.listBuckets());
    if (path === "/bucket" && request.method === "POST") {
      const body = await request.json() as { id: string; public?: boolean };
      return await storage.createBucket(body.id, { public: body.public === true })
        ? Response.json({ name: body.id })
        : error(400, "409", "The resource already exists");
    }
    const list = path.match(/^\/object\/list\/([^/]+)$/);
    if (list && request.method === "POST") {
      const bucket = decodeURIComponent(list[1]);
      const { prefix = "", limit = 100, offset = 0 } = await request.json() as {
        prefix?: string;
        limit?: number;
        offset?: number;
      };
      const entries = new Map<string, unknown>();
      for (const object of await storage.listObjects(bucket, { limit: Number.MAX_SAFE_INTEGER })) {
        if (!object.name.startsWith(prefix)) continue;
        const [head, ...rest] = object.name.slice(prefix.length).split("/");
        if (rest.length > 0) entries.set(head, { id: null, name: head, metadata: null });
        else {entries.set(head, {
            id: object.name,
            name: head,
            metadata: { size: object.size, mimetype: object.contentType, cacheControl: object.cacheControl },
          });}
      }
      const sorted = [...entries.keys()].sort(compareObjectNames).map((name) => entries.get(name));
      return Response.json(sorted.slice(offset, offset + limit));
    }
    const upload = path.match(/^\/object\/([^/]+)\/(.+)$/);
    if (upload && request.method === "POST") {
      const [bucket, name] = [
        decodeURIComponent(upload[1]),
        upload[2].split("/").map(decodeURIComponent).join("/"),
      ];
      if (!storage.buckets.has(bucket)) return error(400, "404", "Bucket not found");
      await storage.upload(bucket, name, new Uint8Array(await request.arrayBuffer()), {
        contentType: request.headers.get("content-type") ?? "application/octet-stream",
        cacheControl: request.headers.get("cache-control") ?? undefined,
        upsert: request.headers.get("x-upsert") === "true",
      });
      return Response.json({ Key: `${bucket}/${name}` });
    }
    return error(400, "404", `no route ${request.method} ${path}`);
  };
}
