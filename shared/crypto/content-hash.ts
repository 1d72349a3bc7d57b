/**
 * SHA-256 hex digests, and the canonical JSON that makes a value hash the same whatever its key
 * order: content hashes of files, cache keys, provider idempotency keys. Web Crypto only, so it
 * runs in Deno and Node alike.
 */

/** Object keys sorted at every depth, undefined members dropped. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort((
      [a],
      [b],
    ) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as BufferSource);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** sha256 hex of a value's canonical JSON. */
export const hashJson = (value: unknown) => sha256Hex(new TextEncoder().encode(canonicalJson(value)));
