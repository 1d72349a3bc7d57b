/**
 * HTTP(S) URLs the server calls on a caller's behalf (a clone's target Storage API): https on its
 * default port, no credentials in the URL, a host that passes the outbound guard, no redirects.
 * On a trusted network (private targets allowed) http and other ports are accepted too.
 */
import { TargetNotAllowedError } from "../errors.ts";
import type { CheckedAddress, OutboundGuard } from "./outbound-guard.ts";

/** Checks `url` and its host's addresses; throws TargetNotAllowedError naming what is wrong. */
export async function checkHttpTarget(
  url: string,
  guard: OutboundGuard,
  what: string,
): Promise<CheckedAddress> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TargetNotAllowedError(`${what} is not a URL`);
  }
  const insecureAllowed = guard.allowPrivate;
  if (parsed.protocol !== "https:" && !(insecureAllowed && parsed.protocol === "http:")) {
    throw new TargetNotAllowedError(`${what} must be an https:// URL, not ${parsed.protocol}//`);
  }
  if (parsed.username || parsed.password) {
    throw new TargetNotAllowedError(`${what} must not carry credentials in the URL`);
  }
  if (parsed.port && !insecureAllowed) {
    throw new TargetNotAllowedError(`${what} must use https's default port 443, not ${parsed.port}`);
  }
  return await guard.checkHost(parsed.hostname, what);
}

/**
 * fetch for such URLs: each request's URL is checked first and redirects are errors (a redirect
 * could lead anywhere, past the check). fetch resolves the name again when it connects, so a DNS
 * answer that changes between the check and the connection (rebinding, a TTL of seconds) is not
 * caught; the window is one request, and the request carries no secret of ours but the target's.
 */
export function createGuardedFetch(guard: OutboundGuard, what: string) {
  return async function guardedFetch(url: string, init: RequestInit = {}): Promise<Response> {
    await checkHttpTarget(url, guard, what);
    try {
      return await fetch(url, { ...init, redirect: "error" });
    } catch (error) {
      if (isRedirectError(error)) {
        throw new TargetNotAllowedError(
          `${what} answered with a redirect; give the URL it finally serves from`,
        );
      }
      throw error;
    }
  };
}

// Node (undici): "fetch failed", cause "unexpected redirect"; Deno: "Encountered redirect while redirect mode is set to 'error'".
function isRedirectError(error: unknown): boolean {
  const text = `${(error as Error)?.message ?? ""} ${String((error as { cause?: unknown })?.cause ?? "")}`;
  return /redirect/i.test(text);
}
