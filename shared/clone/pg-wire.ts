/**
 * A minimal PostgreSQL wire-protocol client for the clone's data copy, on both sides: startup,
 * authentication (trust, cleartext, md5, SCRAM-SHA-256), TLS when the URL's sslmode asks for it,
 * the simple query protocol, `COPY ... TO STDOUT` relayed in large blocks and `COPY ... FROM
 * STDIN` fed with them.
 *
 * Why not postgres.js here: it parses every CopyData message (one per row) into its own Buffer and
 * stream event, which costs the function worker CPU per row; on hosted Supabase a worker gets
 * ~2 s of CPU. This client strips the CopyData headers of whole socket reads in place (a few
 * integer reads and one native copy per row, no object per row) and hands the payload bytes on
 * as one block per read, which the target's COPY FROM STDIN takes as it is (it does not need
 * row-aligned messages). On the target, postgres.js copied every write into a CopyData message
 * of its own; this client sends the block behind a 5-byte header. Measured with
 * bench/clone/relay-cpu.ts (one 116 MB table, both ends in this process), CPU per 100 MB relayed:
 * 462 ms through postgres.js, 252..275 ms with this client reading the source, 137..147 ms with
 * it on both ends; bench/clone/relay-memory.ts (2 lanes, 407 MB): RSS +38..41 MiB with
 * postgres.js writing the target, +9..11 MiB without.
 *
 * The byte stream and TLS are pg-wire-transport.ts's; SCRAM is pg-scram.ts's.
 */
import { createHash } from "node:crypto";
import { Scram } from "./pg-scram.ts";
import { openTransport, sendAndWaitClose, type Transport } from "./pg-wire-transport.ts";

/** Where and how to connect; `host`/`port` override the URL's (a checked address), `servername` is for TLS. */
export interface WireOptions {
  url: string;
  /** Startup parameters (application_name, session settings). */
  params?: Record<string, string>;
  host?: string;
  port?: number;
  servername?: string;
  connectTimeoutMs?: number;
}

/** An error the server reported (ErrorResponse): its SQLSTATE is `code`, as postgres.js names it. */
export class WireServerError extends Error {
  constructor(readonly code: string, message: string, readonly severity: string) {
    super(message);
    this.name = "PostgresError";
  }
}

/**
 * Receives a block of COPY payload bytes. The block is a view of the connection's read buffer:
 * valid until the sink returns (or its promise settles); a sink that keeps bytes copies them.
 */
export type CopySink = (block: Uint8Array) => void | Promise<void>;

const D = 0x64; // 'd' CopyData
/**
 * The read buffer each connection keeps and reads into, read after read. A new buffer per read
 * (and a concatenation per message cut by a read) was garbage that V8 frees only at its next
 * collection: 2 lanes relaying 350 MB (bench/clone/relay-memory.ts) grew RSS by 100..140 MiB
 * with it, 56..66 MiB without (with postgres.js still writing the target). Grown only
 * for a non-COPY message larger than this, and shrunk back after it.
 */
const BUFFER_BYTES = 256 * 1024;
const discard: CopySink = () => {};

/** Opens a connection; throws WireServerError or a connection error (never the password). */
export async function connectWire(options: WireOptions): Promise<WireConnection> {
  const url = new URL(options.url);
  const host = options.host ?? (url.hostname.replace(/^\[|\]$/g, "") || "localhost");
  const port = options.port ?? (url.port ? Number(url.port) : 5432);
  const mode = url.searchParams.get("sslmode") ?? url.searchParams.get("ssl");
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  const startedAt = Date.now();
  const transport = await openTransport(host, port, mode, options.servername ?? url.hostname, timeoutMs);
  // The startup is bounded as well as the TCP connect: a server that accepts and never answers
  // would otherwise hold the slice until the platform's wall clock ends the worker.
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    transport.close();
  }, Math.max(0, timeoutMs - (Date.now() - startedAt)));
  try {
    const connection = new WireConnection(transport, { host, port });
    await connection.startup(
      decodeURIComponent(url.username),
      decodeURIComponent(url.password),
      decodeURIComponent(url.pathname.replace(/^\//, "")) || decodeURIComponent(url.username),
      options.params ?? {},
    );
    return connection;
  } catch (error) {
    transport.close();
    if (!timedOut) throw error;
    throw Object.assign(new Error(`connect timeout after ${timeoutMs} ms`), { code: "CONNECT_TIMEOUT" });
  } finally {
    clearTimeout(deadline);
  }
}

/**
 * One server connection, one command at a time. After a server error the connection is usable
 * again (the error is thrown once ReadyForQuery arrives); after a socket error it is `broken`.
 */
export class WireConnection {
  /** The socket failed or closed: the connection cannot be used again. */
  broken = false;
  #transport: Transport;
  #address: { host: string; port: number };
  #failure: Error | null = null;
  /** Unparsed bytes: #buf[#pos..#end]. */
  #buf = new Uint8Array(BUFFER_BYTES);
  #pos = 0;
  #end = 0;
  /** Payload bytes of the CopyData message being relayed that are still to come. */
  #payloadLeft = 0;
  #backendKey: Uint8Array | null = null;
  #busy = false;

  constructor(transport: Transport, address: { host: string; port: number }) {
    this.#transport = transport;
    this.#address = address;
  }

  /** Closes the connection: Terminate, then the socket; mid-command, the socket at once. */
  close(): void {
    const terminate = this.broken || this.#busy ? undefined : message(0x58, new Uint8Array(0));
    this.broken = true;
    this.#transport.close(terminate);
  }

  /** Runs `text` with the simple query protocol; returns the text rows of the last result. */
  async query(text: string): Promise<(string | null)[][]> {
    return await this.#exclusive(async () => {
      this.#send(message(0x51, cstring(text)));
      let rows: (string | null)[][] = [];
      let error: WireServerError | null = null;
      try {
        for (;;) {
          const [type, body] = await this.#message();
          if (type === 0x54) rows = []; // RowDescription: a new result starts
          else if (type === 0x44) rows.push(dataRow(body));
          else if (type === 0x45) error ??= serverError(body);
          else if (type === 0x47) { // CopyInResponse: not ours to feed
            this.#send(message(0x66, cstring("COPY FROM STDIN is not supported here")));
          } else if (type === 0x5a) break;
        }
      } catch (lost) {
        throw error ?? lost; // a FATAL error comes before the close: it says why
      }
      if (error) throw error;
      return rows;
    });
  }

  /**
   * Runs a `COPY ... TO STDOUT` and hands its data to `sink` in blocks (the rows' bytes, no
   * message framing, cut wherever a read ended), awaiting the sink before reading on: that is
   * the back-pressure, and the block's buffer is read into again afterwards. Returns the server's
   * row count. If the sink throws, the server's COPY is cancelled and read to its end (the
   * connection stays usable), and the sink's error is thrown.
   */
  async copyOut(text: string, sink: CopySink): Promise<number> {
    return await this.#exclusive(async () => {
      this.#send(message(0x51, cstring(text)));
      this.#payloadLeft = 0;
      let error: Error | null = null;
      let sinkFailed = false;
      let count = 0;
      let cancelled: Promise<void> | null = null;
      try {
        for (;;) {
          if (this.#payloadLeft === 0) await this.#fill(1);
          if (this.#payloadLeft > 0 || this.#buf[this.#pos] === D) {
            try {
              // After the sink failed, the rest of the COPY is read and dropped, a buffer at a time.
              await this.#relayData(sinkFailed ? discard : sink);
            } catch (failure) {
              if (this.broken) throw failure; // the socket, not the sink
              sinkFailed = true;
              error = failure as Error;
              cancelled = this.#cancel();
            }
            continue;
          }
          const [type, body] = await this.#message();
          if (type === 0x45) error ??= serverError(body);
          else if (type === 0x43) count = commandCount(body);
          else if (type === 0x5a) break;
          // 'H' CopyOutResponse, 'c' CopyDone, notices: nothing to do.
        }
      } catch (lost) {
        throw error ?? lost; // a FATAL error comes before the close: it says why
      }
      // Once the cancel connection is closed the server has signalled the backend; a late signal
      // could otherwise cancel whatever runs next on this connection.
      await cancelled;
      if (error) throw error;
      return count;
    });
  }

  /**
   * Relays CopyData payloads from the buffered bytes on, reading more as needed, until another
   * message starts. A message cut by the end of a read is relayed as far as it arrived; the rest
   * of it (#payloadLeft) follows in the next block, so no message is ever held whole.
   */
  async #relayData(sink: CopySink): Promise<void> {
    for (;;) {
      const buf = this.#buf;
      const end = this.#end;
      const start = this.#pos;
      let read = start;
      let write = start;
      let left = this.#payloadLeft;
      // Strip each message's 5-byte header in place: the payloads end up contiguous.
      for (;;) {
        if (left > 0) {
          const take = Math.min(left, end - read);
          if (write !== read) buf.copyWithin(write, read, read + take);
          write += take;
          read += take;
          left -= take;
          if (left > 0) break;
        }
        if (read + 5 > end || buf[read] !== D) break;
        left = messageLength(buf, read + 1) - 4;
        read += 5;
      }
      // Consumed before the sink runs: if it throws, the relay can go on from here (discarding).
      this.#pos = read;
      this.#payloadLeft = left;
      if (write > start) await sink(buf.subarray(start, write));
      if (left === 0 && read < end && buf[read] !== D) return; // CopyDone or an error: the caller reads it
      // The rest of a payload, or a header cut short: read on.
      await this.#fill(this.#available() + 1);
    }
  }

  /**
   * Runs a `COPY ... FROM STDIN` fed by `feed`, which gets a writer for the payload bytes (any
   * cut: the server does not need row-aligned messages). Each block goes out as one CopyData
   * message straight from the caller's bytes (a 5-byte header, no copy), and the writer settles
   * once the block is on the socket: the caller may then reuse it, and a target that reads slowly
   * holds the feed back. Returns the server's row count.
   * If `feed` throws, the COPY is abandoned (CopyFail: the transaction it ran in can roll back) and
   * feed's error is thrown. If the server rejects the data mid-stream (it answers at once, then
   * drops whatever follows), the next write throws, which stops the feed, and the server's error
   * is thrown.
   */
  async copyIn(text: string, feed: (write: CopySink) => Promise<unknown>): Promise<number> {
    return await this.#exclusive(async () => {
      this.#send(message(0x51, cstring(text)));
      let error: WireServerError | null = null;
      for (;;) {
        const [type, body] = await this.#message();
        if (type === 0x47) break; // CopyInResponse
        if (type === 0x45) error ??= serverError(body);
        else if (type === 0x5a) throw error ?? new Error("the statement did not start a COPY FROM STDIN");
      }
      // During COPY IN the server speaks only to object, or to notify: a reader drains notices,
      // parameter statuses and notifications as they come (a server left unread could stall its
      // sends and with them its reads) and stops at anything else, left unread: an error, or the
      // command's completion once CopyDone went out.
      let stopped = false;
      const listening = (async () => {
        try {
          for (;;) {
            await this.#fill(5);
            if (![0x4e, 0x53, 0x41].includes(this.#buf[this.#pos])) break;
            await this.#message();
          }
        } catch {
          // the socket failed: the writer finds the connection broken
        }
        stopped = true;
      })();
      const rejected = new Error("the target rejected the data");
      const header = new Uint8Array(5);
      header[0] = D;
      let fed: Error | null = null;
      try {
        await feed(async (block) => {
          if (stopped) throw rejected;
          if (block.length === 0) return;
          new DataView(header.buffer).setInt32(1, 4 + block.length);
          this.#send(header);
          this.#send(block);
          await this.#flush();
        });
      } catch (failure) {
        fed = failure instanceof Error ? failure : new Error(String(failure));
      }
      // CopyDone, or CopyFail with a reason of our own (the feed's error may name the source).
      if (!this.broken) {
        this.#send(
          fed ? message(0x66, cstring("the clone's source stopped")) : message(0x63, new Uint8Array(0)),
        );
      }
      await listening;
      let count = 0;
      try {
        for (;;) {
          const [type, body] = await this.#message();
          if (type === 0x45) error ??= serverError(body);
          else if (type === 0x43) count = commandCount(body);
          else if (type === 0x5a) break;
        }
      } catch (lost) {
        throw (fed === rejected ? null : fed) ?? error ?? lost;
      }
      if (fed && fed !== rejected) throw fed;
      if (error) throw error;
      return count;
    });
  }

  /** Waits until what was sent is on the socket; a failed socket leaves the connection broken. */
  async #flush(): Promise<void> {
    try {
      await this.#transport.flush();
    } catch (error) {
      this.broken = true;
      this.#failure ??= Object.assign(error instanceof Error ? error : new Error(String(error)), {
        code: "CONNECTION_CLOSED",
      });
      throw this.#failure;
    }
  }

  /** Sends a CancelRequest for this connection's running command and waits until the server took it. */
  async #cancel(): Promise<void> {
    if (!this.#backendKey) return;
    const request = new Uint8Array(16);
    const view = new DataView(request.buffer);
    view.setInt32(0, 16);
    view.setInt32(4, 80877102);
    request.set(this.#backendKey, 8);
    try {
      await sendAndWaitClose(this.#address.host, this.#address.port, request);
    } catch {
      // Without a cancel the COPY runs to its end; reading it out is slower, not wrong.
    }
  }

  /** Startup and authentication, up to the first ReadyForQuery. */
  async startup(user: string, password: string, database: string, params: Record<string, string>) {
    const fields = { user, database, client_encoding: "UTF8", ...params };
    const body = concat([
      int32(196608),
      ...Object.entries(fields).flatMap(([k, v]) => [cstring(k), cstring(v)]),
      new Uint8Array([0]),
    ]);
    this.#send(concat([int32(body.length + 4), body]));
    let scram: Scram | null = null;
    for (;;) {
      const [type, body] = await this.#message();
      if (type === 0x45) throw serverError(body);
      if (type === 0x4b) this.#backendKey = body.slice(0, 8);
      if (type === 0x5a) return;
      if (type !== 0x52) continue;
      const code = readInt32(body, 0);
      if (code === 0) continue;
      if (code === 3) this.#send(message(0x70, cstring(password)));
      else if (code === 5) {
        const inner = md5(password + user);
        const salted = md5(concat([new TextEncoder().encode(inner), body.subarray(4, 8)]));
        this.#send(message(0x70, cstring(`md5${salted}`)));
      } else if (code === 10) {
        const mechanisms = new TextDecoder().decode(body.subarray(4)).split("\0");
        if (!mechanisms.includes("SCRAM-SHA-256")) {
          throw new Error(`the server offers no supported SASL mechanism (${mechanisms.join(", ")})`);
        }
        scram = new Scram(password);
        const first = new TextEncoder().encode(scram.clientFirst());
        this.#send(message(0x70, concat([cstring("SCRAM-SHA-256"), int32(first.length), first])));
      } else if (code === 11 && scram) {
        this.#send(message(0x70, new TextEncoder().encode(scram.clientFinal(utf8(body.subarray(4))))));
      } else if (code === 12 && scram) {
        scram.verifyServer(utf8(body.subarray(4)));
      } else throw new Error(`unsupported authentication request ${code}`);
    }
  }

  async #exclusive<T>(run: () => Promise<T>): Promise<T> {
    if (this.broken) throw this.#failure ?? new Error("the connection is closed");
    if (this.#busy) throw new Error("the connection is busy with another command");
    this.#busy = true;
    try {
      return await run();
    } catch (error) {
      if (this.broken) this.#transport.close();
      throw error;
    } finally {
      this.#busy = false;
    }
  }

  #send(bytes: Uint8Array): void {
    this.#transport.write(bytes);
  }

  #available(): number {
    return this.#end - this.#pos;
  }

  /** The next whole message: its type and body (a view, valid until the next read). */
  async #message(): Promise<[number, Uint8Array]> {
    await this.#fill(5);
    const length = messageLength(this.#buf, this.#pos + 1);
    await this.#fill(1 + length);
    const start = this.#pos;
    this.#pos += 1 + length;
    return [this.#buf[start], this.#buf.subarray(start + 5, start + 1 + length)];
  }

  /** Makes at least `n` unparsed bytes contiguous in #buf, reading from the socket as needed. */
  async #fill(n: number): Promise<void> {
    while (this.#available() < n) {
      this.#makeRoom(n);
      let read: number;
      try {
        read = await this.#transport.read(this.#buf.subarray(this.#end));
      } catch (error) {
        this.broken = true;
        this.#failure ??= Object.assign(error instanceof Error ? error : new Error(String(error)), {
          code: "CONNECTION_CLOSED",
        });
        throw this.#failure;
      }
      this.#end += read;
    }
  }

  /** Moves the unparsed bytes to the buffer's start, in a buffer that holds `n` (or the usual size again). */
  #makeRoom(n: number): void {
    const have = this.#available();
    const capacity = Math.max(n, BUFFER_BYTES);
    if (this.#buf.length !== capacity) {
      const next = new Uint8Array(capacity);
      next.set(this.#buf.subarray(this.#pos, this.#end));
      this.#buf = next;
    } else if (this.#pos > 0) {
      this.#buf.copyWithin(0, this.#pos, this.#end);
    }
    this.#pos = 0;
    this.#end = have;
  }
}

function message(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  out[0] = type;
  new DataView(out.buffer).setInt32(1, 4 + body.length);
  out.set(body, 5);
  return out;
}

function cstring(text: string): Uint8Array {
  return new TextEncoder().encode(`${text}\0`);
}

function int32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, n);
  return out;
}

// PostgreSQL sends no message over 1 GiB (its allocation limit), and every length counts itself.
const MAX_MESSAGE_LENGTH = 0x3fffffff;

/**
 * A message's length field, refused unless PostgreSQL could have sent it: read from a server
 * that is not PostgreSQL (an HTTP answer's "TTP/" is 1.4 GB) it would have been allocated.
 */
function messageLength(buf: Uint8Array, at: number): number {
  const length = readInt32(buf, at);
  if (length < 4 || length > MAX_MESSAGE_LENGTH) {
    throw Object.assign(
      new Error(`the server sent a message of ${length} bytes: not the PostgreSQL protocol`),
      {
        code: "PROTOCOL_VIOLATION",
      },
    );
  }
  return length;
}

function readInt32(buf: Uint8Array, at: number): number {
  return (buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3];
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const utf8 = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const md5 = (data: string | Uint8Array) => createHash("md5").update(data).digest("hex");

function dataRow(body: Uint8Array): (string | null)[] {
  const columns = (body[0] << 8) | body[1];
  const row: (string | null)[] = [];
  let at = 2;
  for (let i = 0; i < columns; i++) {
    const length = readInt32(body, at);
    at += 4;
    if (length < 0) row.push(null);
    else {
      row.push(utf8(body.subarray(at, at + length)));
      at += length;
    }
  }
  return row;
}

function serverError(body: Uint8Array): WireServerError {
  const fields: Record<string, string> = {};
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const end = body.indexOf(0, at + 1);
    fields[String.fromCharCode(body[at])] = utf8(body.subarray(at + 1, end));
    at = end + 1;
  }
  return new WireServerError(fields.C ?? "", fields.M ?? "server error", fields.S ?? "ERROR");
}

/** The row count of a CommandComplete tag such as `COPY 42`. */
function commandCount(body: Uint8Array): number {
  const tag = utf8(body.subarray(0, body.length - 1));
  return Number(tag.slice(tag.lastIndexOf(" ") + 1)) || 0;
}
