import postgres from "postgres";
import type { Sql } from "../db/client.ts";
import { CLONE_SESSION_SETTINGS } from "./copy-chunk.ts";
import { connectWire, type WireConnection } from "./pg-wire.ts";

/**
 * A connection for the clone: no statement/lock/idle timeouts, stable text output (UTC, ISO).
 * `pinned` overrides where it connects (a checked IP) and its TLS options; see clone-target.ts.
 * `max` connections at most (one per copy in flight).
 */
export function openCloneConnection(
  url: string,
  applicationName: string,
  pinned?: PinnedAddress,
  max = 1,
): Sql {
  return postgres(url, {
    ...(pinned ? pinnedOptions(pinned) : {}),
    max,
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
    const [row] =
      await sql`select system_identifier::text as system, current_database() as db from pg_control_system()`;
    return `${row.system}/${row.db}`;
  } catch {
    // pg_control_system may be closed to non-superusers; fall back to where the server listens.
    const [row] = await sql`
      select coalesce(host(inet_server_addr()), 'local') || ':' || coalesce(inet_server_port(), 0) || '/' || current_database() as id`;
    return row.id;
  }
}

/** Where a checked target connection goes: the IP that passed the checks, and TLS options. */
export interface PinnedAddress {
  host: string;
  port: number;
  ssl?: postgres.Options<Record<string, never>>["ssl"];
}

function pinnedOptions(pinned: PinnedAddress) {
  // As arrays: postgres.js splits a host string on ":" (for "host:port" lists), which would cut
  // an IPv6 address; the types only admit the string form.
  const options = { host: [pinned.host], port: [pinned.port] } as unknown as { host: string; port: number };
  return pinned.ssl === undefined ? options : { ...options, ssl: pinned.ssl };
}

/**
 * A raw wire connection for the data copy (pg-wire.ts): COPY relayed in blocks, key lookups and
 * the chunk ledger as simple queries; same session settings as openCloneConnection. `pinned`
 * overrides where it connects (a checked IP; TLS still checks the URL's host name).
 */
export async function openCloneWire(
  url: string,
  applicationName: string,
  pinned?: { host: string; port: number },
): Promise<WireConnection> {
  return await connectWire({
    url,
    ...pinned,
    params: { ...CLONE_SESSION_SETTINGS, application_name: applicationName },
  });
}

/** Wire connections to one database, one per copy in flight, opened on demand and kept for the slice. */
export interface CloneWirePool {
  /** Runs `work` on an idle connection (or a new one); a connection left broken is closed, not reused. */
  use<T>(work: (connection: WireConnection) => Promise<T>): Promise<T>;
  /**
   * Opens connections until `wanted` are open, or until the server refuses one for lack of slots
   * (`53300 too_many_connections`) with at least one open: how many are open, for that many copies
   * at once. A target role or server with few connections left failed every data attempt on its
   * second lane; it now gets fewer lanes. Any other error, or a refusal of the first, is thrown.
   */
  reserve(wanted: number): Promise<number>;
  close(): void;
}

/** A server's refusal of one more connection (`53300 too_many_connections`): fewer sessions will do. */
export const refusedForLackOfSlots = (error: unknown) => (error as { code?: string }).code === "53300";

export function cloneWirePool(open: () => Promise<WireConnection>): CloneWirePool {
  const idle: WireConnection[] = [];
  const all = new Set<WireConnection>();
  return {
    async use(work) {
      const connection = idle.pop() ?? await open();
      all.add(connection);
      try {
        return await work(connection);
      } finally {
        if (connection.broken) {
          all.delete(connection);
          connection.close();
        } else idle.push(connection);
      }
    },
    async reserve(wanted) {
      while (all.size < wanted) {
        let connection: WireConnection;
        try {
          connection = await open();
        } catch (error) {
          if (refusedForLackOfSlots(error) && all.size > 0) break;
          throw error;
        }
        all.add(connection);
        idle.push(connection);
      }
      return all.size;
    },
    close() {
      for (const connection of all) connection.close();
      all.clear();
      idle.length = 0;
    },
  };
}
