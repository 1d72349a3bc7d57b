/**
 * Whether a PostgreSQL server answers at a clone target's address, asked before a client library
 * connects there. postgres.js retries a connection that closes before the server finished the
 * startup at once and forever, and each attempt restarts its connect_timeout: anything that is
 * not PostgreSQL and hangs up (an HTTP server, a network's intercepting proxy) makes the worker
 * spin, hundreds of connections a second, until the platform kills it (546 WORKER_LIMIT). One
 * SSLRequest tells a server apart in one round trip: PostgreSQL, pgbouncer and Supavisor answer it
 * with one byte (S or N) before they read anything else. Waiting for that answer costs no CPU.
 */
import net from "node:net";
import tls from "node:tls";
import { connectFailureReason } from "../engine/task-error.ts";
import { AppError } from "../errors.ts";

/**
 * How long a target gets for the TCP connect and that one answer. A server that is up answers
 * within a round trip (well under 1 s across continents); 5 s leaves room for two lost SYNs
 * (Linux resends at 1 s and 3 s), and leaves the start's own checks almost all of the platform's
 * 150 s request time.
 */
export const TARGET_ANSWER_TIMEOUT_MS = 5_000;

/** 422 target_unreachable: nothing at the target's host and port answers as PostgreSQL does. */
export class TargetUnreachableError extends AppError {
  constructor(where: string, reason: string) {
    super(
      "target_unreachable",
      422,
      `cannot connect to the target at ${where}: ${reason}; check targetUrl's host and port, and that the database accepts connections from this project`,
    );
  }
}

/**
 * 422 target_refuses_tls: the server answers without TLS, and targetUrl's sslmode asks for it.
 * postgres.js tried the handshake anyway and reported a connection reset.
 */
export class TargetRefusesTlsError extends AppError {
  constructor(where: string) {
    super(
      "target_refuses_tls",
      422,
      `the target at ${where} does not accept TLS connections, and targetUrl's sslmode asks for one; use sslmode=prefer or disable only on a network you trust`,
    );
  }
}

export interface ProbeAddress {
  /** The address to connect to (the checked IP). */
  host: string;
  port: number;
  /** How errors name the target: the URL's host and port, never its credentials. */
  shown: string;
  /** The URL's host name, for the TLS handshake of a server that offers TLS. */
  servername?: string;
  /** The URL's sslmode asks for TLS: a server that does not offer it is refused. */
  tlsRequired?: boolean;
}

const SSL_REQUEST = new Uint8Array([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
const TLS_YES = 0x53; // S
const TLS_NO = 0x4e; // N
// E: a server that could not start a backend for the connection (PostgreSQL's fork failure).
const SERVER_ERROR = 0x45;

/**
 * Resolves once a PostgreSQL server answered at `address`; throws TargetUnreachableError otherwise,
 * and TargetRefusesTlsError when it answered without TLS and the address requires it.
 */
export function probePostgres(address: ProbeAddress, timeoutMs = TARGET_ANSWER_TIMEOUT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address.host, port: address.port });
    let settled = false;
    const settle = (failure?: string | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (failure === undefined) resolve();
      else {
        socket.destroy();
        reject(typeof failure === "string" ? new TargetUnreachableError(address.shown, failure) : failure);
      }
    };
    const timer = setTimeout(() => settle(`no answer within ${timeoutMs / 1000} s`), timeoutMs);
    socket.once("connect", () => socket.write(SSL_REQUEST));
    socket.once("error", (error) => settle(connectFailureReason(error)));
    socket.once("close", () => settle("the server closed the connection without answering"));
    socket.once("data", (data: Uint8Array) => {
      if (data[0] === TLS_YES) {
        settle();
        closeAfterHandshake(socket, address.servername, timeoutMs);
      } else if (data[0] === TLS_NO && address.tlsRequired) {
        settle(new TargetRefusesTlsError(address.shown));
      } else if (data[0] === TLS_NO || data[0] === SERVER_ERROR) {
        settle();
        socket.destroy();
      } else settle("something answered, but not a PostgreSQL server");
    });
  });
}

/**
 * A server that offered TLS logs a failed handshake ("could not accept SSL connection") when the
 * socket just closes; one completed first, then closed, leaves nothing in its log. The server
 * has answered already, so the outcome is not waited for; nothing is sent over the TLS session.
 */
function closeAfterHandshake(socket: net.Socket, servername: string | undefined, timeoutMs: number) {
  const secure = tls.connect({
    socket,
    servername: servername && !net.isIP(servername) ? servername : undefined,
    rejectUnauthorized: false,
  });
  const timer = setTimeout(() => secure.destroy(), timeoutMs);
  // end, not destroy: our last handshake message must reach the server before the close.
  secure.once("secureConnect", () => secure.end());
  secure.once("error", () => secure.destroy());
  secure.once("close", () => clearTimeout(timer));
}
