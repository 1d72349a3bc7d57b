/**
 * The way to a clone target: its port must be one the operator allows, its host must resolve only
 * to addresses the outbound guard accepts, a PostgreSQL server must answer there within
 * TARGET_ANSWER_TIMEOUT_MS (target-probe.ts), and the connection goes to the address that was
 * checked (postgres.js gets the IP; the name stays for TLS). Checked again on every connection —
 * start, each slice, restart — so a name re-pointed after the start is caught too.
 */
import postgres from "postgres";
import type { Sql } from "../db/client.ts";
import { TargetNotAllowedError } from "../errors.ts";
import type { CheckedAddress, OutboundGuard } from "../net/outbound-guard.ts";
import { openCloneConnection, openCloneWire } from "./clone-connections.ts";
import type { WireConnection } from "./pg-wire.ts";
import { probePostgres } from "./target-probe.ts";
import { parseTargetUrl, requiresTls, type TargetUrl } from "./target-url.ts";

/** What decides where a clone may connect: operator settings plus the guard. */
export interface CloneTargetRules {
  guard: OutboundGuard;
  allowedPorts: number[];
}

/** Checks the target's port and addresses; throws TargetNotAllowedError, or HostUnresolvableError (outbound-guard.ts). */
export async function checkCloneTarget(target: TargetUrl, rules: CloneTargetRules): Promise<CheckedAddress> {
  if (!rules.allowedPorts.includes(target.port)) {
    throw new TargetNotAllowedError(
      `targetUrl's port ${target.port} is not allowed; allowed: ${
        rules.allowedPorts.join(", ")
      } (operator setting REELFORGE_CLONE_ALLOWED_PORTS)`,
    );
  }
  return await rules.guard.checkHost(target.host, "targetUrl");
}

/**
 * A clone connection to the target, after the checks and the probe, pinned to the checked address;
 * throws TargetUnreachableError (target-probe.ts) when no PostgreSQL server answers there.
 */
export async function connectCloneTarget(
  url: string,
  rules: CloneTargetRules,
  applicationName: string,
): Promise<Sql> {
  const target = parseTargetUrl(url);
  const checked = await checkCloneTarget(target, rules);
  await probePostgres(probeAddress(target, checked));
  return openCloneConnection(url, applicationName, {
    host: checked.address,
    port: target.port,
    ssl: pinnedSsl(target, checked),
  });
}

/** A wire connection to the target for the data copy (pg-wire.ts), after the same checks and probe, pinned likewise. */
export async function connectCloneTargetWire(
  url: string,
  rules: CloneTargetRules,
  applicationName: string,
): Promise<WireConnection> {
  const target = parseTargetUrl(url);
  const checked = await checkCloneTarget(target, rules);
  await probePostgres(probeAddress(target, checked));
  return await openCloneWire(url, applicationName, { host: checked.address, port: target.port });
}

function probeAddress(target: TargetUrl, checked: CheckedAddress) {
  return {
    host: checked.address,
    port: target.port,
    shown: `${target.host}:${target.port}`,
    servername: checked.hostname,
    tlsRequired: requiresTls(target.sslmode),
  };
}

/**
 * The TLS setting for a connection made to an IP: postgres.js would send the IP as SNI (that is,
 * none), so modes that verify the certificate or may need SNI get the original name as servername.
 */
function pinnedSsl(
  target: TargetUrl,
  checked: CheckedAddress,
): postgres.Options<Record<string, never>>["ssl"] | undefined {
  const mode = target.sslmode;
  const servername = checked.address === checked.hostname ? undefined : checked.hostname;
  switch (mode) {
    case null:
    case "disable":
    case "false":
    case "allow":
    case "prefer":
      return undefined; // as the URL says; no certificate is checked in these modes
    case "require":
    case "no-verify":
      return { servername, rejectUnauthorized: false };
    default: // verify-ca, verify-full, true
      return { servername };
  }
}
