/**
 * The typed front-end client: one namespace per function, each method one action. It takes the
 * app's own SupabaseClient (anything with `functions.invoke`), so calls carry the user's session.
 */
import { assetMethods } from "./assets.ts";
import { cloneMethods } from "./clones.ts";
import type { FunctionsInvoker } from "./invoke-action.ts";
import { movieMethods } from "./movies.ts";
import { providerMethods } from "./providers.ts";
import type { RealtimeSource } from "./realtime-source.ts";
import { sceneMethods } from "./scenes.ts";
import { taskMethods } from "./tasks.ts";

/** A SupabaseClient fits: `functions` for the calls, `channel` (optional) for watchMovie's Realtime. */
export type ReelforgeSupabase = FunctionsInvoker & Partial<RealtimeSource>;

/** Builds the client; every method rejects with a ReelforgeError when the function refuses or cannot be reached. */
export function createReelforgeClient(supabase: ReelforgeSupabase) {
  return {
    supabase,
    movies: movieMethods(supabase),
    scenes: sceneMethods(supabase),
    assets: assetMethods(supabase),
    clones: cloneMethods(supabase),
    providers: providerMethods(supabase),
    tasks: taskMethods(supabase),
  };
}

export type ReelforgeClient = ReturnType<typeof createReelforgeClient>;
