/**
 * pg-wire.ts against a scripted server on 127.0.0.1: how messages split across TCP reads are
 * framed, and the authentication methods and TLS answers the stack's Postgres cannot show (it
 * speaks SCRAM without TLS; the integration tests cover that).
 */
import { createHash } from "node:crypto";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { connectWire } from "../../shared/clone/pg-wire.ts";

const enc = new TextEncoder();

function msg(type: string, body: Uint8Array | string = new Uint8Array(0)): Buffer {
  const bytes = typeof body === "string" ? enc.encode(body) : body;
  const out = Buffer.alloc(5 + bytes.length);
  out.write(type, 0, "latin1");
  out.writeInt32BE(4 + bytes.length, 1);
  out.set(bytes, 5);
  return out;
}
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const authOk = () => msg("R", int32(0));
const ready = () => msg("Z", "I");

interface Peer {
  /** Bytes the client sent, as they arrived. */
  received: Buffer[];
  socket: net.Socket;
}

let server: net.Server | null = null;
afterEach(() => {
  server?.close();
  server = null;
});

/** A server that runs `script` for the first connection; resolves to its URL. */
async function scripted(script: (peer: Peer, next: () => Promise<Buffer>) => Promise<void>): Promise<string> {
  server = net.createServer((socket) => {
    const received: Buffer[] = [];
    const waiting: Array<(b: Buffer) => void> = [];
    // Data that arrived while the script was still writing waits for its next().
    const unclaimed: Buffer[] = [];
    socket.on("data", (data: Buffer) => {
      received.push(data);
      const resolve = waiting.shift();
      if (resolve) resolve(data);
      else unclaimed.push(data);
    });
    socket.on("error", () => {});
    const next = () =>
      unclaimed.length > 0
        ? Promise.resolve(unclaimed.shift()!)
        : new Promise<Buffer>((resolve) => waiting.push(resolve));
    script({ received, socket }, next).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return `postgresql://alice:s3cret@127.0.0.1:${port}/db`;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes `bytes` in pieces of the given sizes, each its own TCP write after a pause (separate reads). */
async function writeInPieces(socket: net.Socket, bytes: Buffer, sizes: number[]) {
  let at = 0;
  for (const size of [...sizes, bytes.length]) {
    if (at >= bytes.length) break;
    socket.write(bytes.subarray(at, at + size));
    at += size;
    await pause(15);
  }
}

describe("pg-wire", () => {
  it("relays COPY rows whose messages are split anywhere across TCP reads, headers included", async () => {
    const rows = ["1\talpha\n", "2\t" + "x".repeat(70_000) + "\n", "3\tgamma\n", "4\t\\N\n"];
    const url = await scripted(async ({ socket }, next) => {
      await next(); // startup
      socket.write(Buffer.concat([authOk(), ready()]));
      await next(); // the query
      const stream = Buffer.concat([
        msg("H", Buffer.from([0, 0, 2, 0, 0, 0, 0])),
        ...rows.map((row) => msg("d", row)),
        msg("c"),
        msg("C", "COPY 4\0"),
        ready(),
      ]);
      // Cuts: inside H, between a d's type byte and its length, inside a length, inside the 70 KB
      // payload (twice), right at a message boundary, inside CommandComplete.
      await writeInPieces(socket, stream, [3, 7, 1, 2, 20, 30_000, 40_000, 30, 5]);
    });
    const connection = await connectWire({ url });
    const blocks: Uint8Array[] = [];
    // A block is lent until the sink returns: the next read goes into the same buffer.
    const count = await connection.copyOut("copy t to stdout", (block) => void blocks.push(block.slice()));

    expect(count).toBe(4);
    expect(Buffer.concat(blocks).toString()).toBe(rows.join(""));
    connection.close();
  });

  it("relays a row larger than the read buffer, and a sink failing inside it leaves the connection usable", async () => {
    // 600 KB: more than the client's 256 KB read buffer, so the row is relayed as it arrives.
    const huge = "1\t" + "y".repeat(600_000) + "\n";
    const copy = () =>
      Buffer.concat([
        msg("H", Buffer.from([0, 0, 1, 0, 0])),
        msg("d", huge),
        msg("d", "2\tz\n"),
        msg("c"),
        msg("C", "COPY 2\0"),
        ready(),
      ]);
    const url = await scripted(async ({ socket }, next) => {
      await next();
      socket.write(Buffer.concat([authOk(), ready()]));
      await next();
      await writeInPieces(socket, copy(), [100_000, 300_000, 250_000]);
      await next();
      await writeInPieces(socket, copy(), [3, 200_000]);
      await next();
      socket.write(Buffer.concat([
        msg("T", Buffer.from([0, 0])),
        msg("D", Buffer.concat([Buffer.from([0, 1]), int32(2), Buffer.from("ok")])),
        msg("C", "SELECT 1\0"),
        ready(),
      ]));
    });
    const connection = await connectWire({ url });
    const blocks: Buffer[] = [];
    expect(await connection.copyOut("copy t to stdout", (block) => void blocks.push(Buffer.from(block))))
      .toBe(2);
    expect(blocks.length).toBeGreaterThan(1);
    expect(Buffer.concat(blocks).toString()).toBe(huge + "2\tz\n");

    // The sink fails on the first block, in the middle of the big row: the rest is read and dropped.
    const failing = connection.copyOut("copy t to stdout", () => {
      throw new Error("target gone");
    });
    await expect(failing).rejects.toThrow("target gone");
    expect(await connection.query("select 'ok'")).toEqual([["ok"]]);
    connection.close();
  });

  it("answers md5 authentication as PostgreSQL expects", async () => {
    const salt = Buffer.from([1, 2, 3, 4]);
    let answer = "";
    const url = await scripted(async ({ socket }, next) => {
      await next();
      socket.write(msg("R", Buffer.concat([int32(5), salt])));
      const reply = await next();
      answer = reply.subarray(5, reply.length - 1).toString();
      socket.write(Buffer.concat([authOk(), ready()]));
    });
    const connection = await connectWire({ url });
    const md5 = (data: Buffer | string) => createHash("md5").update(data).digest("hex");
    expect(answer).toBe("md5" + md5(Buffer.concat([Buffer.from(md5("s3cretalice")), salt])));
    connection.close();
  });

  it("sends the password for cleartext authentication, and reports a refused login as the server's error", async () => {
    let answer = "";
    const url = await scripted(async ({ socket }, next) => {
      await next();
      socket.write(msg("R", int32(3)));
      const reply = await next();
      answer = reply.subarray(5, reply.length - 1).toString();
      socket.end(msg("E", 'SFATAL\0C28P01\0Mpassword authentication failed for user "alice"\0\0'));
    });
    const error = await connectWire({ url }).catch((e) => e);
    expect(answer).toBe("s3cret");
    expect(error).toMatchObject({ code: "28P01" });
    expect(String(error.message)).not.toContain("s3cret");
  });

  it("asks for TLS when the URL says so: prefer goes on in plain text if refused, require fails", async () => {
    const first: Buffer[] = [];
    const url = await scripted(async ({ socket }, next) => {
      first.push(await next());
      socket.write("N");
      await next();
      socket.write(Buffer.concat([authOk(), ready()]));
    });
    const connection = await connectWire({ url: `${url}?sslmode=prefer` });
    expect(first[0]).toEqual(Buffer.concat([int32(8), int32(80877103)]));
    connection.close();
    server?.close();

    const strict = await scripted(async ({ socket }, next) => {
      await next();
      socket.write("N");
    });
    await expect(connectWire({ url: `${strict}?sslmode=require` })).rejects.toThrow(/TLS/);
  });

  it("a server error mid-COPY is thrown once the server is ready, and the connection serves the next query", async () => {
    const url = await scripted(async ({ socket }, next) => {
      await next();
      socket.write(Buffer.concat([authOk(), ready()]));
      await next();
      socket.write(Buffer.concat([
        msg("H", Buffer.from([0, 0, 1, 0, 0])),
        msg("d", "1\n"),
        msg("E", "SERROR\0C22012\0Mdivision by zero\0\0"),
        ready(),
      ]));
      await next();
      socket.write(Buffer.concat([
        msg("T", Buffer.from([0, 0])),
        msg("D", Buffer.concat([Buffer.from([0, 1]), int32(2), Buffer.from("ok")])),
        msg("C", "SELECT 1\0"),
        ready(),
      ]));
    });
    const connection = await connectWire({ url });
    await expect(connection.copyOut("copy x to stdout", () => {})).rejects.toMatchObject({ code: "22012" });
    expect(await connection.query("select 'ok'")).toEqual([["ok"]]);
    connection.close();
  });

  it("refuses an answer whose message length PostgreSQL could not send (an HTTP server), allocating nothing", async () => {
    const url = await scripted(async (peer, next) => {
      await next(); // the startup
      peer.socket.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    const error = await connectWire({ url, connectTimeoutMs: 5_000 }).catch((e) => e);
    expect(error).toMatchObject({ code: "PROTOCOL_VIOLATION" });
    expect(error.message).toContain("not the PostgreSQL protocol");
  });

  it("gives up a startup the server never answers once the connect timeout has passed", async () => {
    const url = await scripted(async (_peer, next) => {
      await next(); // the startup, never answered
    });
    const error = await connectWire({ url, connectTimeoutMs: 300 }).catch((e) => e);
    expect(error).toMatchObject({ code: "CONNECT_TIMEOUT", message: "connect timeout after 300 ms" });
  });
});
