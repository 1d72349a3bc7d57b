/**
 * A finished job's output into our Storage (provider URLs expire), as a recorded step. Outputs
 * already in our media bucket (local providers, the render worker) are used where they are.
 */
import type { TaskContext } from "../engine/task-context.ts";
import { copyToStorage } from "../providers/copy-to-storage.ts";
import type { MediaKind } from "../providers/http/media-url.ts";
import { storageKeyOf } from "../caches/asset-cache.ts";
import type { FilmEnv } from "./film-env.ts";

export async function storeOutput(
  ctx: TaskContext,
  env: FilmEnv,
  stepName: string,
  url: string,
  kind: MediaKind,
  path: string,
): Promise<string> {
  return await ctx.effect(stepName, async () => {
    if (storageKeyOf((b, p) => env.storage.publicUrl(b, p), env.bucket, url) !== null) return url;
    const copy = await copyToStorage({
      provider: "copy",
      url,
      kind,
      storage: env.storage,
      bucket: env.bucket,
      path,
      allowInsecureUrls: env.allowInsecureUrls,
    });
    return copy.publicUrl;
  });
}
