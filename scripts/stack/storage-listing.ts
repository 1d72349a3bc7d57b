/**
 * `POST /storage/v1/object/list/<bucket>` of the stack's Storage API: one folder's entries, as
 * Storage's `storage.search` answers — files with their metadata, sub-folders as entries with a
 * null id and null metadata — from `storage.objects`, as the caller sees it, sorted (names in
 * collate "C" order), paged by limit and offset.
 */
import { asCaller, type Caller, type StorageSql } from "./storage-db.ts";

export interface ListRequest {
  prefix: string;
  limit: number;
  offset: number;
  column: "name" | "updated_at" | "created_at" | "last_accessed_at";
  order: "asc" | "desc";
  search: string;
}

const COLUMNS = new Set(["name", "updated_at", "created_at", "last_accessed_at"]);

/** The request, or what is wrong with it. */
export function parseListRequest(body: Record<string, unknown> | null): ListRequest | string {
  const usage =
    'body must be {prefix: string, limit?: integer >= 1, offset?: integer >= 0, sortBy?: {column?: "name"|"updated_at"|"created_at"|"last_accessed_at", order?: "asc"|"desc"}, search?: string}';
  if (body === null || typeof body.prefix !== "string") return usage;
  const { limit = 100, offset = 0, search = "" } = body;
  const sortBy = (body.sortBy ?? {}) as { column?: unknown; order?: unknown };
  if (
    !Number.isInteger(limit) || (limit as number) < 1 || !Number.isInteger(offset) || (offset as number) < 0
  ) return usage;
  if (typeof search !== "string" || typeof sortBy !== "object" || sortBy === null) return usage;
  const column = sortBy.column ?? "name";
  if (typeof column !== "string" || !COLUMNS.has(column)) return usage;
  const order = typeof sortBy.order === "string" ? sortBy.order.toLowerCase() : "asc";
  if (order !== "asc" && order !== "desc") return usage;
  // Storage takes the prefix as a folder, with or without its trailing slash.
  const prefix = body.prefix.replace(/\/+$/, "");
  return {
    prefix,
    limit: limit as number,
    offset: offset as number,
    column: column as ListRequest["column"],
    order,
    search,
  };
}

export async function listFolder(sql: StorageSql, caller: Caller, bucket: string, request: ListRequest) {
  const folder = request.prefix === "" ? "" : `${request.prefix}/`;
  const direction = sql.unsafe(request.order);
  const orderBy = request.column === "name"
    ? sql`entry collate "C" ${direction}`
    : sql`${sql(request.column)} ${direction} nulls last, entry collate "C" asc`;
  return await asCaller(sql, caller, (tx) =>
    tx`
    with entries as (
      select distinct on (entry, is_folder) entry, is_folder, id, updated_at, created_at, last_accessed_at, metadata
        from (
          select split_part(substr(name, ${codePoints(folder) + 1}), '/', 1) as entry,
                 strpos(substr(name, ${codePoints(folder) + 1}), '/') > 0 as is_folder,
                 id, updated_at, created_at, last_accessed_at, metadata
            from storage.objects
           where bucket_id = ${bucket} and left(name, ${codePoints(folder)}) = ${folder}
        ) as below
       where left(lower(entry), ${codePoints(request.search)}) = lower(${request.search})
       order by entry, is_folder
    )
    select entry as name,
           case when is_folder then null else id end as id,
           case when is_folder then null else updated_at end as updated_at,
           case when is_folder then null else created_at end as created_at,
           case when is_folder then null else last_accessed_at end as last_accessed_at,
           case when is_folder then null else metadata end as metadata
      from entries
     order by ${orderBy}
     limit ${request.limit} offset ${request.offset}`);
}

// Postgres counts characters (code points), JavaScript UTF-16 units.
const codePoints = (text: string) => [...text].length;
