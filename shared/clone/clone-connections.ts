import postgres from "postgres";
import type { Sql } from "../db/client.ts";
import { CLONE_SESSION_SETTINGS } from "./copy-chunk.ts";

/** A connection for the clone: no statement/lock/idle timeouts, stable text output (UTC, ISO). */
export function openCloneConnection(url: string, applicationName: string): Sql {
  return postgres(url, {
    max: 1,
    prepare: false,
    connect_timeout: 10,
    idle_timeout: 30,
    onnotice: () => {},
    connection: { ...CLONE_SESSION_SETTINGS, application_name: applicationName },
  });
}

/** What identifies a database cluster + database, to refuse cloning a database onto itself. */
export async function databaseIdentity(sql: Sql): Promise<string> {
  try {
    const [row] = await sql`select system_identifier::text as system, current_database() as db from pg_control_system()`;
    return `${row.system}/${row.db}`;
  } catch {
    // pg_control_system may be closed to non-superusers; fall back to where the server listens.
    const [row] = await sql`
      select coalesce(host(inet_server_addr()), 'local') || ':' || coalesce(inet_server_port(), 0) || '/' || current_database() as id`;
    return row.id;
  }
}
