/**
 * `POST /storage/v1/object/list/<bucket>` of the local stand-in: one folder's entries, like
 * Storage's `storage.search` — files with their metadata, sub-folders as entries with a null id
 * and null metadata — sorted by name (collate "C"), paged by limit and offset.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { ignoreMissing, UPLOAD_TEMP_FILE } from "../../shared/storage/local-layout.ts";
import type { LocalStorage } from "../../shared/storage/local-storage.ts";
import { assertObjectKey, compareObjectNames } from "../../shared/storage/storage.ts";

export interface ListRequest {
  prefix: string;
  limit: number;
  offset: number;
  order: "asc" | "desc";
  search: string;
}

/** The request, or what is wrong with it. */
export function parseListRequest(body: Record<string, unknown> | null): ListRequest | string {
  const usage = "body must be {prefix: string, limit?: integer >= 1, offset?: integer >= 0, sortBy?: {column: \"name\", order?: \"asc\"|\"desc\"}, search?: string}";
  if (body === null || typeof body.prefix !== "string") return usage;
  const { limit = 100, offset = 0, search = "" } = body;
  const sortBy = (body.sortBy ?? { column: "name" }) as { column?: unknown; order?: unknown };
  if (!Number.isInteger(limit) || (limit as number) < 1 || !Number.isInteger(offset) || (offset as number) < 0) return usage;
  if (typeof search !== "string" || typeof sortBy !== "object" || sortBy === null) return usage;
  // Storage also sorts by updated_at, created_at, last_accessed_at; the stand-in keeps no such times.
  if (sortBy.column !== "name") return "the local stand-in lists sorted by name only: sortBy.column must be \"name\"";
  if (sortBy.order !== undefined && sortBy.order !== "asc" && sortBy.order !== "desc") return usage;
  // Storage takes the prefix as a folder, with or without its trailing slash.
  const prefix = body.prefix.replace(/\/+$/, "");
  return { prefix, limit: limit as number, offset: offset as number, order: (sortBy.order ?? "asc") as "asc" | "desc", search };
}

export async function listFolder(storage: LocalStorage, dir: string, bucket: string, request: ListRequest) {
  if (request.prefix !== "") assertObjectKey(bucket, request.prefix);
  const folder = join(dir, bucket, ...request.prefix.split("/").filter(Boolean));
  const folderPrefix = request.prefix === "" ? "" : `${request.prefix}/`;
  const entries = ((await readdir(folder, { withFileTypes: true }).catch(ignoreMissing)) ?? [])
    .filter((entry) => entry.isDirectory() || (entry.isFile() && !UPLOAD_TEMP_FILE.test(entry.name)))
    .filter((entry) => entry.name.toLowerCase().startsWith(request.search.toLowerCase()))
    .sort((a, b) => compareObjectNames(a.name, b.name) * (request.order === "asc" ? 1 : -1))
    .slice(request.offset, request.offset + request.limit);

  return await Promise.all(entries.map(async (entry) => {
    if (entry.isDirectory()) {
      return { name: entry.name, id: null, updated_at: null, created_at: null, last_accessed_at: null, metadata: null };
    }
    const name = folderPrefix + entry.name;
    const [info, meta] = await Promise.all([stat(join(folder, entry.name)), storage.readMeta(bucket, name)]);
    const time = info.mtime.toISOString();
    return {
      name: entry.name,
      id: await objectId(bucket, name),
      updated_at: time,
      created_at: time,
      last_accessed_at: time,
      metadata: {
        eTag: `"${info.size.toString(16)}-${info.mtimeMs.toString(16)}"`,
        size: info.size,
        mimetype: meta.contentType,
        cacheControl: meta.cacheControl,
        lastModified: time,
        contentLength: info.size,
        httpStatusCode: 200,
      },
    };
  }));
}

/** A stable UUID-shaped id per object (the stand-in keeps no object rows to hold one). */
async function objectId(bucket: string, name: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${bucket}/${name}`)));
  const hex = [...digest.slice(0, 16)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
