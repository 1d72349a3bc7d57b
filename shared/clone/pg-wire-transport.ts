/**
 * The byte stream under pg-wire.ts: Deno's own sockets for plain TCP under Deno (large reads),
 * node:net/node:tls otherwise and for TLS, as postgres.js uses them (so sslmode=require skips
 * certificate checks the same way).
 */
import { Buffer } from "node:buffer";
import net from "node:net";
import tls from "node:tls";

/**
 * A byte stream to the server, read on demand: nothing is read until the client asks, so a slow
 * consumer holds the server back through TCP and no read buffers pile up.
 */
export interface Transport {
  /**
   * Reads what has arrived (at least one byte, at most `into.length`) into `into`; throws once
   * the connection failed or closed (bytes that arrived before that are still read first).
   */
  read(into: Uint8Array): Promise<number>;
  /** Queues `bytes`, which stay the caller's to keep unchanged until the next flush settles. */
  write(bytes: Uint8Array): void;
  /** Settles once every byte written so far is on the socket; throws once the connection failed. */
  flush(): Promise<void>;
  /** Sends `last` if given, then closes. */
  close(last?: Uint8Array): void;
}

// node:net pushes its reads: the socket pauses once this much waits to be read.
const NODE_HIGH_WATER = 1 << 20;

function nodeTransport(socket: net.Socket): Transport {
  const queue: Uint8Array[] = [];
  let queued = 0;
  let paused = false;
  let failure: Error | null = null;
  let waiting: (() => void) | null = null;
  const wake = () => {
    const resolve = waiting;
    waiting = null;
    resolve?.();
  };
  socket.on("data", (data: Buffer) => {
    queue.push(data);
    queued += data.length;
    if (queued > NODE_HIGH_WATER && !paused) {
      paused = true;
      socket.pause();
    }
    wake();
  });
  socket.on("error", (error) => {
    failure ??= error;
    wake();
  });
  socket.on("close", () => {
    failure ??= new Error("the connection closed");
    wake();
  });
  let written: Promise<void> = Promise.resolve();
  const closed = new Promise<never>((_, reject) => socket.once("close", () => reject(failure)));
  closed.catch(() => {});
  return {
    async read(into) {
      while (queue.length === 0) {
        if (failure) throw failure;
        if (paused) {
          paused = false;
          socket.resume();
        }
        await new Promise<void>((resolve) => (waiting = resolve));
      }
      let n = 0;
      while (n < into.length && queue.length > 0) {
        const head = queue[0];
        const take = Math.min(head.length, into.length - n);
        into.set(take === head.length ? head : head.subarray(0, take), n);
        n += take;
        if (take === head.length) queue.shift();
        else queue[0] = head.subarray(take);
      }
      queued -= n;
      return n;
    },
    write(bytes) {
      // node:net keeps a reference to the bytes until its callback runs; flush waits for that.
      written = new Promise<void>((resolve, reject) => {
        socket.write(bytes, (error) => error ? reject(error) : resolve());
      });
      written.catch(() => {});
    },
    async flush() {
      if (failure) throw failure;
      await Promise.race([written, closed]);
    },
    close(last) {
      if (last) socket.end(last);
      socket.destroy();
    },
  };
}

/**
 * A plain TCP connection through Deno.connect (TLS goes through node:tls, as postgres.js does):
 * reads land straight in the caller's buffer, which node:net cannot do (it hands over a buffer of
 * its own, ~16 KB under Deno, per read).
 */
async function denoTransport(host: string, port: number, timeoutMs: number): Promise<Transport> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const conn = await Deno.connect({ hostname: host, port, signal: timeout } as Deno.ConnectOptions)
    .catch((error) => {
      throw timeout.aborted ? new Error(`connect timeout after ${timeoutMs} ms`) : error;
    });
  conn.setNoDelay(true);
  let closed = false;
  let failure: Error | null = null;
  let writing = Promise.resolve();
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // already closed
    }
  };
  return {
    async read(into) {
      if (closed) throw new Error("the connection closed");
      let n: number | null;
      try {
        n = await conn.read(into);
      } catch (error) {
        // Closed here while the read waited: that is the reason, not the runtime's wording of it.
        const reason = closed ? new Error("the connection closed") : error;
        close();
        throw reason;
      }
      if (n === null) {
        close();
        throw new Error("the connection closed");
      }
      return n;
    },
    write(bytes) {
      writing = writing.then(async () => {
        if (closed) throw failure ?? new Error("the connection closed");
        for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
      }).catch((error) => {
        failure ??= closed ? new Error("the connection closed") : error;
        close();
      });
    },
    async flush() {
      await writing;
      if (failure) throw failure;
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
