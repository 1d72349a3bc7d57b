/**
 * The byte stream under pg-wire.ts: Deno's own sockets for plain TCP under Deno (large reads),
 * node:net/node:tls otherwise and for TLS, as postgres.js uses them (so sslmode=require skips
 * certificate checks the same way).
 */
import { Buffer } from "node:buffer";
import net from "node:net";
import tls from "node:tls";

/** A byte stream to the server: reads pushed to `onData` (each buffer the reader's to keep), back-pressure by pause. */
export interface Transport {
  start(onData: (bytes: Uint8Array) => void, onEnd: (error: Error) => void): void;
  pause(): void;
  resume(): void;
  write(bytes: Uint8Array): void;
  /** Sends `last` if given, then closes. */
  close(last?: Uint8Array): void;
}

function nodeTransport(socket: net.Socket): Transport {
  return {
    start(onData, onEnd) {
      socket.on("data", onData);
      socket.on("error", onEnd);
      socket.on("close", () => onEnd(new Error("the connection closed")));
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    write: (bytes) => void socket.write(bytes),
    close(last) {
      if (last) socket.end(last);
      socket.destroy();
    },
  };
}

// Deno's own sockets read up to this much at once: a COPY arrives in few, large reads
// (node:net under Deno hands over ~16 KB per read, each with its own event and buffer).
const READ_BYTES = 256 * 1024;

/** A plain TCP connection through Deno.connect (TLS goes through node:tls, as postgres.js does). */
async function denoTransport(host: string, port: number, timeoutMs: number): Promise<Transport> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const conn = await Deno.connect({ hostname: host, port, signal: timeout } as Deno.ConnectOptions)
    .catch((error) => {
      throw timeout.aborted ? new Error(`connect timeout after ${timeoutMs} ms`) : error;
    });
  conn.setNoDelay(true);
  let paused = false;
  let resumed: (() => void) | null = null;
  let closed = false;
  let writing = Promise.resolve();
  const close = () => {
    if (closed) return;
    closed = true;
    resumed?.();
    try {
      conn.close();
    } catch {
      // already closed
    }
  };
  return {
    start(onData, onEnd) {
      (async () => {
        let buffer = new Uint8Array(READ_BYTES);
        for (;;) {
          while (paused && !closed) await new Promise<void>((resolve) => (resumed = resolve));
          if (closed) throw new Error("the connection closed");
          const n = await conn.read(buffer);
          if (n === null) throw new Error("the connection closed");
          // A small read is copied out, so the big buffer serves the next read.
          if (n < READ_BYTES / 4) onData(buffer.slice(0, n));
          else {
            onData(buffer.subarray(0, n));
            buffer = new Uint8Array(READ_BYTES);
          }
        }
      })().catch((error) => {
        close();
        onEnd(error instanceof Error ? error : new Error(String(error)));
      });
    },
    pause: () => void (paused = true),
    resume() {
      paused = false;
      resumed?.();
      resumed = null;
    },
    write(bytes) {
      writing = writing.then(async () => {
        for (let at = 0; at < bytes.length && !closed;) at += await conn.write(bytes.subarray(at));
      }).catch(() => close());
    },
    close(last) {
      if (last && !closed) writing.then(() => conn.write(last)).catch(() => {}).finally(close);
      else close();
    },
  };
}

function openSocket(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect timeout after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** SSLRequest, then TLS if the server agrees; prefer/allow go on in plain text if it does not. */
async function negotiateTls(socket: net.Socket, mode: string, servername: string): Promise<net.Socket> {
  const answer = await new Promise<number>((resolve, reject) => {
    socket.once("data", (data: Buffer) => resolve(data[0]));
    socket.once("error", reject);
    const request = Buffer.alloc(8);
    request.writeInt32BE(8, 0);
    request.writeInt32BE(80877103, 4);
    socket.write(request);
  });
  socket.removeAllListeners("error");
  if (answer !== 0x53) {
    if (mode === "prefer" || mode === "allow") return socket;
    throw new Error("the server does not accept TLS connections, and sslmode requires one");
  }
  const verify = !["require", "no-verify", "prefer", "allow"].includes(mode);
  return await new Promise<net.Socket>((resolve, reject) => {
    const secure = tls.connect({
      socket,
      servername: net.isIP(servername) ? undefined : servername,
      rejectUnauthorized: verify,
    });
    secure.once("secureConnect", () => resolve(secure));
    secure.once("error", reject);
  });
}

/** A connection to host:port, TLS negotiated as the URL's sslmode (null: plain) asks. */
export async function openTransport(
  host: string,
  port: number,
  sslmode: string | null,
  servername: string,
  timeoutMs: number,
): Promise<Transport> {
  const tlsAsked = sslmode !== null && !["disable", "false"].includes(sslmode);
  if (!tlsAsked && typeof Deno !== "undefined") return await denoTransport(host, port, timeoutMs);
  let socket = await openSocket(host, port, timeoutMs);
  try {
    if (tlsAsked) socket = await negotiateTls(socket, sslmode!, servername);
  } catch (error) {
    socket.destroy();
    throw error;
  }
  return nodeTransport(socket);
}

/** Sends `bytes` on a connection of its own and waits until the server closed it (a CancelRequest). */
export async function sendAndWaitClose(host: string, port: number, bytes: Uint8Array): Promise<void> {
  const socket = await openSocket(host, port, 10_000);
  await new Promise<void>((resolve) => {
    socket.on("error", () => resolve());
    socket.on("close", () => resolve());
    socket.end(bytes);
  });
}
