/**
 * A fake of another project's Storage API in memory, for unit tests of the clone's storage phase:
 * the four routes shared/clone/storage-api-client.ts calls (POST and GET /bucket, POST
 * /object/<bucket>/<path> with x-upsert, POST /object/list/<bucket> one folder deep), answering
 * as Supabase Storage does (HTTP 400, the real status in `statusCode`). The stack's own Storage
 * (scripts/stack/storage-api.ts) needs Postgres; tests/integration covers it.
 */
export interface FakeObject {
  bytes: Uint8Array;
  contentType: string;
  cacheControl: string;
}

export function createFakeStorageApi(serviceRoleKey: string) {
  const buckets = new Map<string, { public: boolean; objects: Map<string, FakeObject> }>();
  const refuse = (statusCode: number, error: string, message: string) => Response.json({ statusCode: String(statusCode), error, message }, { status: 400 });

  async function handle(request: Request): Promise<Response> {
    if (request.headers.get("authorization") !== `Bearer ${serviceRoleKey}`) return refuse(403, "Unauthorized", "invalid signature");
    const [, resource, ...rest] = new URL(request.url).pathname.replace(/^\/storage\/v1/, "").split("/").map(decodeURIComponent);
    if (resource === "bucket" && request.method === "GET") {
      return Response.json([...buckets].map(([id, bucket]) => ({ id, name: id, public: bucket.public })));
    }
    if (resource === "bucket" && request.method === "POST") {
      const body = await request.json();
      if (buckets.has(body.id)) return refuse(409, "Duplicate", "The resource already exists");
      buckets.set(body.id, { public: body.public === true, objects: new Map() });
      return Response.json({ name: body.id });
    }
    if (resource === "object" && rest[0] === "list") {
      const objects = buckets.get(rest[1])?.objects ?? new Map<string, FakeObject>();
      const { prefix, limit, offset } = await request.json();
      const entries = new Map<string, FakeObject | null>();
      for (const [name, object] of objects) {
        if (!name.startsWith(prefix)) continue;
        const [head, ...below] = name.slice(prefix.length).split("/");
        entries.set(head, below.length > 0 ? null : object);
      }
      return Response.json([...entries].sort(([a], [b]) => (a < b ? -1 : 1)).slice(offset, offset + limit).map(([name, object]) => ({
        name,
        id: object ? crypto.randomUUID() : null,
        metadata: object && { size: object.bytes.byteLength, mimetype: object.contentType, cacheControl: object.cacheControl },
      })));
    }
    if (resource === "object" && request.method === "POST") {
      const [bucketId, ...path] = rest;
      const bucket = buckets.get(bucketId);
      if (!bucket) return refuse(404, "Bucket not found", "Bucket not found");
      const name = path.join("/");
      if (bucket.objects.has(name) && request.headers.get("x-upsert") !== "true") return refuse(409, "Duplicate", "The resource already exists");
      bucket.objects.set(name, {
        bytes: new Uint8Array(await request.arrayBuffer()),
        contentType: request.headers.get("content-type") ?? "application/octet-stream",
        cacheControl: request.headers.get("cache-control") ?? "no-cache",
      });
      return Response.json({ Key: `${bucketId}/${name}`, Id: crypto.randomUUID() });
    }
    return refuse(404, "not_found", "no such route in the fake");
  }

  return { handle, buckets };
}
