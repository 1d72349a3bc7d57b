/**
 * The stack's Storage as functions and the render worker reach it: the HTTP API with the service
 * role (shared/storage/supabase-storage.ts). Tests write and read media only through it.
 */
import type { Sql as SharedSql } from "../../shared/db/client.ts";
import { objectOfUrl } from "../../shared/storage/signed-urls.ts";
import type { ObjectStorage } from "../../shared/storage/storage.ts";
import { createSupabaseStorage } from "../../shared/storage/supabase-storage.ts";
import { type Sql, stackEnv } from "./stack.ts";

/** `sql` serves listings (storage.objects); without one, listing is not available. */
export function stackStorage(sql?: Sql): ObjectStorage {
  const env = stackEnv();
  const noSql = (() => {
    throw new Error("stackStorage(): pass a connection to list objects");
  }) as unknown as SharedSql;
  return createSupabaseStorage({
    supabaseUrl: env.API_URL,
    serviceRoleKey: env.SERVICE_ROLE_KEY,
    sql: (sql as unknown as SharedSql) ?? noSql,
  });
}

/** Creates the bucket through the Storage API if it is missing (tests' own buckets; `media` comes from a migration). */
export async function ensureBucket(id: string, options: { public?: boolean } = {}): Promise<void> {
  const env = stackEnv();
  const response = await fetch(`${env.API_URL}/storage/v1/bucket`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${env.SERVICE_ROLE_KEY}`,
      apikey: env.SERVICE_ROLE_KEY,
      "content-type": "application/json",
    },
    body: JSON.stringify({ id, name: id, public: options.public === true }),
  });
  const text = await response.text();
  if (!response.ok && !/already exists|Duplicate|409/i.test(text)) {
    throw new Error(`could not create bucket ${id}: ${response.status} ${text}`);
  }
}

/** Removes every object under `prefix` (a test's own folder) through the Storage API. */
export async function removeUnder(sql: Sql, bucket: string, prefix: string): Promise<void> {
  const storage = stackStorage(sql);
  const folder = prefix.endsWith("/") ? prefix : `${prefix}/`;
  for (;;) {
    const page = (await storage.listObjects(bucket, { after: folder, limit: 500 })).filter((o) =>
      o.name.startsWith(folder)
    );
    if (page.length === 0) return;
    await storage.remove(bucket, page.map((o) => o.name));
  }
}

/** The address (public-URL shape, as stored) a signed URL of ours was made from; other URLs unchanged. */
export const addressOfSigned = (url: string) =>
  url.includes("/storage/v1/object/sign/")
    ? url.replace("/storage/v1/object/sign/", "/storage/v1/object/public/").split("?")[0]
    : url;

/** An object by its stored address, read with the service role (the media bucket is private): 404 once it is gone. */
export async function bytesAtAddress(url: string): Promise<{ status: number; bytes: Buffer }> {
  const storage = stackStorage();
  const ref = objectOfUrl(storage, url);
  const bytes = ref ? await storage.download(ref.bucket, ref.path) : null;
  return { status: bytes ? 200 : 404, bytes: Buffer.from(bytes ?? new Uint8Array()) };
}
