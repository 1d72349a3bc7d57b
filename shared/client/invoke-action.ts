/**
 * How the client reaches a function: `functions.invoke(name, { body: { action, ...input } })`,
 * the same POST every Reelforge function answers. Typed structurally, so a SupabaseClient fits
 * without this module importing supabase-js (browser bundles stay small; no server code here).
 */
import { reelforgeErrorFrom } from "./reelforge-error.ts";

/** What the client needs of a SupabaseClient: `supabase.functions.invoke`. */
export interface FunctionsInvoker {
  functions: {
    invoke(
      functionName: string,
      options: { body: Record<string, unknown>; signal?: AbortSignal },
    ): Promise<{ data: unknown; error: unknown }>;
  };
}

export interface CallOptions {
  /** Aborts the request; the call then rejects with a ReelforgeError coded `aborted`. */
  signal?: AbortSignal;
}

/** Calls one action; resolves with the function's JSON answer, rejects with a ReelforgeError. */
export async function invokeAction<T>(
  supabase: FunctionsInvoker,
  functionName: string,
  action: string,
  input: object,
  options: CallOptions = {},
): Promise<T> {
  const { data, error } = await supabase.functions.invoke(functionName, {
    body: { action, ...input },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (error) throw await reelforgeErrorFrom(error, { functionName, action });
  return data as T;
}
