/**
 * A finished job's output into our Storage (provider URLs expire), as a recorded step. Outputs
 * already in our media bucket (local providers, the render worker) are used where they are, when
 * they are the film owner's: an answer naming another tenant's object fails, never becomes theirs.
 */
import type { TaskContext } from "../engine/task-context.ts";
import { copyToStorage } from "../providers/copy-to-storage.ts";
import type { MediaKind } from "../providers/http/media-url.ts";
import { ProviderError } from "../providers/provider-errors.ts";
import { type FilmEnv, filmObject } from "./film-env.ts";

export async function storeOutput(
  ctx: TaskContext,
  env: FilmEnv,
  stepName: string,
  url: string,
  kind: MediaKind,
  path: string,
): Promise<string> {
  return await ctx.effect(stepName, async () => {
    const ours = filmObject(env, url);
    if (ours === "not_yours") {
      throw new ProviderError(
        { provider: "copy", failureCode: "output_not_yours", retryable: false },
        `the ${kind} output names a file in our Storage that is not the owner's`,
      );
    }
    if (ours !== null) return url;
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
