/**
 * The project's API keys: new-style `sb_secret_...` (server, the service role) and
 * `sb_publishable_...` (public, anon), plus the legacy service_role / anon JWTs, recognised by
 * constant-time comparison with the values the platform gives the function — a non-JWT key has no
 * claims to verify, so knowing it is the proof.
 */
import { secretsEqual } from "./caller.ts";

export interface ApiKeySet {
  /** sb_secret_ keys and the legacy service_role JWT: the service role. */
  serviceRoleKeys: string[];
  /** sb_publishable_ keys and the legacy anon JWT: anonymous access. */
  anonKeys: string[];
}

/** Which project key `given` is, or null when it is none of them. */
export function matchApiKey(given: string, keys: ApiKeySet): "service_role" | "anon" | null {
  // Every candidate is compared, so timing does not say which list nearly matched.
  let service = false;
  let anon = false;
  for (const key of keys.serviceRoleKeys) service = secretsEqual(given, key) || service;
  for (const key of keys.anonKeys) anon = secretsEqual(given, key) || anon;
  return service ? "service_role" : anon ? "anon" : null;
}

/** True for the shape of a new-style API key (these are not JWTs). */
export function isNewApiKey(value: string): boolean {
  return value.startsWith("sb_secret_") || value.startsWith("sb_publishable_");
}

/**
 * The keys of a platform JSON dictionary such as SUPABASE_SECRET_KEYS (`{"default": "sb_secret_..."}`).
 * Anything unreadable yields no keys: an unrecognised key is refused, never let through.
 */
export function keysFromDictionary(json: string | undefined): string[] {
  if (!json) return [];
  try {
    const value = JSON.parse(json);
    if (value === null || typeof value !== "object") return [];
    return Object.values(value).filter((key): key is string => typeof key === "string" && key.length >= 16);
  } catch {
    return [];
  }
}
