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
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ""));
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
  const masked = new URL(parsed.href);
  if (masked.password) masked.password = "****";
  return {
    url: parsed.href,
    host: parsed.hostname,
    port,
    database,
    user: decodeURIComponent(parsed.username),
    masked: masked.href,
  };
}
