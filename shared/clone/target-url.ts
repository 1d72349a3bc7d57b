import { BadRequestError } from "../errors.ts";

export interface TargetUrl {
  /** The URL as given, normalised; a secret: never logged or returned. */
  url: string;
  host: string;
  port: number;
  database: string;
  user: string;
  /** Safe to show: the password replaced by ****. */
  masked: string;
  /** The URL's `sslmode` (or postgres.js's `ssl`), one of TLS_MODES; null when it names none. */
  sslmode: string | null;
}

/** libpq's sslmode values, and `true`, `false` and `no-verify`, which postgres.js takes too. */
const TLS_MODES = [
  "disable",
  "allow",
  "prefer",
  "require",
  "verify-ca",
  "verify-full",
  "true",
  "false",
  "no-verify",
];

/** Whether a connection in this mode must be TLS (allow and prefer go on in plain text). */
export function requiresTls(sslmode: string | null): boolean {
  return sslmode !== null && !["disable", "false", "allow", "prefer"].includes(sslmode);
}

/** Validates a clone target: postgres:// or postgresql://, a user, a host and a database. */
export function parseTargetUrl(input: string): TargetUrl {
  let parsed: URL;
  try {
    parsed = new URL(input);
  } catch {
    throw new BadRequestError(
      "invalid_target_url",
      "targetUrl is not a URL; expected postgresql://user:password@host:5432/database",
    );
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new BadRequestError(
      "invalid_target_url",
      `targetUrl must start with postgresql:// or postgres://, not ${parsed.protocol}//`,
    );
  }
  if (!parsed.hostname) throw new BadRequestError("invalid_target_url", "targetUrl has no host");
  if (!parsed.username) throw new BadRequestError("invalid_target_url", "targetUrl has no user name");
  // Each part is %-decoded when it is used (the password at connect); a bad escape in any of them
  // was a URIError there, answered 500. The message names the part, never its value.
  const decoded = (part: string, what: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw new BadRequestError(
        "invalid_target_url",
        `targetUrl's ${what} has a malformed %-escape; write a literal % as %25`,
      );
    }
  };
  decoded(parsed.password, "password");
  const user = decoded(parsed.username, "user name");
  const database = decoded(parsed.pathname.replace(/^\//, ""), "database name");
  if (!database || database.includes("/")) {
    throw new BadRequestError(
      "invalid_target_url",
      "targetUrl must name one database, as in postgresql://user:password@host:5432/postgres",
    );
  }
  const port = parsed.port ? Number(parsed.port) : 5432;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new BadRequestError("invalid_target_url", "targetUrl has an invalid port");
  }
  const sslmode = parsed.searchParams.get("sslmode") ?? parsed.searchParams.get("ssl");
  // An unknown mode was taken as verify-full.
  if (sslmode !== null && !TLS_MODES.includes(sslmode)) {
    throw new BadRequestError(
      "invalid_target_url",
      `targetUrl's sslmode is not one of ${TLS_MODES.slice(0, 6).join(", ")}`,
    );
  }
  const masked = new URL(parsed.href);
  if (masked.password) masked.password = "****";
  return {
    url: parsed.href,
    host: parsed.hostname,
    port,
    database,
    user,
    masked: masked.href,
    sslmode,
  };
}
