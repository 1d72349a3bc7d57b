/**
 * Lists a local bucket's files in the order Supabase Storage lists objects (full paths compared
 * by code point), a page at a time, without reading the whole tree: a folder sorts as its name
 * plus "/", so walking each folder's sorted entries yields full paths in order, and a folder whose
 * whole subtree sorts before the cursor is never opened.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { ignoreMissing, UPLOAD_TEMP_FILE } from "./local-layout.ts";
import { compareObjectNames } from "./storage.ts";

export interface LocalFile {
  name: string;
  size: number;
}

export async function listFilesInOrder(bucketDir: string, after: string | undefined, limit: number): Promise<LocalFile[]> {
  const found: LocalFile[] = [];
  await walk(bucketDir, "");
  return found;

  async function walk(dir: string, prefix: string): Promise<void> {
    const entries = (await readdir(dir, { withFileTypes: true }).catch(ignoreMissing)) ?? [];
    const sorted = entries
      .filter((entry) => entry.isDirectory() || (entry.isFile() && !UPLOAD_TEMP_FILE.test(entry.name)))
      .map((entry) => ({ entry, key: prefix + entry.name + (entry.isDirectory() ? "/" : "") }))
      .sort((a, b) => compareObjectNames(a.key, b.key));
    for (const { entry, key } of sorted) {
      if (found.length >= limit) return;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        // Every name below starts with `key`: all of them sort before the cursor unless it lies inside.
        if (after !== undefined && compareObjectNames(key, after) < 0 && !after.startsWith(key)) continue;
        await walk(path, key);
      } else if (after === undefined || compareObjectNames(key, after) > 0) {
        const info = await stat(path).catch(ignoreMissing); // removed since readdir: skip it
        if (info) found.push({ name: key, size: info.size });
      }
    }
  }
}
