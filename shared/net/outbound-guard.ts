/**
 * The check every connection the server opens on a caller's behalf goes through: resolve the host
 * once, refuse when any address it resolves to is not public (or, on a trusted network, private),
 * and hand back the checked address so the caller connects to it instead of resolving again.
 */
import { TargetNotAllowedError } from "../errors.ts";
import { type AddressClass, classifyAddress, PRIVATE_CLASSES } from "./address-class.ts";
import { formatIp, parseIpLiteral } from "./ip-literal.ts";

/** Every address a name resolves to (getaddrinfo: /etc/hosts included), like dns.lookup({ all: true }). */
export type ResolveHost = (host: string) => Promise<{ address: string; family: number }[]>;

export interface CheckedAddress {
  /** The name as given (for TLS SNI and certificate checks). */
  hostname: string;
  /** The address to connect to, canonical text. */
  address: string;
  family: 4 | 6;
}

export interface OutboundGuardOptions {
  /** Operator setting for a trusted network: loopback, RFC 1918, unique local and CGNAT allowed. */
  allowPrivate: boolean;
  resolve: ResolveHost;
}

export interface OutboundGuard {
  readonly allowPrivate: boolean;
  /** Resolves `host` (a name or any literal form) and checks every address; `what` names it in errors. */
  checkHost(host: string, what: string): Promise<CheckedAddress>;
}

/** Raised when a name does not resolve: nothing to check, nothing to connect to. */
export class HostUnresolvableError extends Error {
  constructor(readonly host: string) {
    super(`${host} does not resolve`);
    this.name = "HostUnresolvableError";
  }
}

const REASON: Record<Exclude<AddressClass, "public">, string> = {
  loopback: "a loopback address",
  private: "a private network address",
  cgnat: "a carrier-grade NAT address",
  link_local: "a link-local address",
  metadata: "a cloud metadata address",
  multicast: "a multicast address",
  unspecified: "the unspecified address",
  broadcast: "the broadcast address",
  reserved: "a reserved address",
};

export function createOutboundGuard(options: OutboundGuardOptions): OutboundGuard {
  function refusal(cls: AddressClass): string | null {
    if (cls === "public") return null;
    if (options.allowPrivate && PRIVATE_CLASSES.has(cls)) return null;
    return REASON[cls];
  }

  return {
    allowPrivate: options.allowPrivate,
    async checkHost(host, what) {
      const hostname = host.replace(/^\[(.*)\]$/, "$1");
      const literal = parseIpLiteral(hostname);
      let addresses = literal ? [literal] : [];
      if (!literal) {
        if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(hostname)) {
          throw new TargetNotAllowedError(`${what} has a host name that is not a DNS name or an IP address`);
        }
        let resolved: { address: string; family: number }[];
        try {
          resolved = await options.resolve(hostname);
        } catch {
          throw new HostUnresolvableError(hostname);
        }
        addresses = resolved.map((r) => parseIpLiteral(r.address)).filter((a) => a !== null);
        if (addresses.length === 0) throw new HostUnresolvableError(hostname);
      }
      for (const address of addresses) {
        const reason = refusal(classifyAddress(address));
        if (reason) {
          const shown = literal ? formatIp(address) : `${hostname} (${formatIp(address)})`;
          const hint = PRIVATE_CLASSES.has(classifyAddress(address))
            ? " (allowed only where the operator trusts the network)"
            : "";
          throw new TargetNotAllowedError(`${what} points at ${shown}, ${reason}${hint}`);
        }
      }
      const chosen = addresses[0];
      return { hostname, address: formatIp(chosen), family: chosen.family };
    },
  };
}
