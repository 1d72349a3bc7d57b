import { lookup } from "node:dns/promises";
import type { ResolveHost } from "./outbound-guard.ts";

/**
 * The system resolver (getaddrinfo, /etc/hosts included), as the connection itself would use it.
 * node:dns works the same under Node and Deno's edge runtime; Deno.resolveDns would skip
 * /etc/hosts (so "localhost" would not resolve) and is Deno-only.
 */
export const lookupAllAddresses: ResolveHost = (host) => lookup(host, { all: true, verbatim: true });
