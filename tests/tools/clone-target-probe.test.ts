/**
 * target-probe.ts against listeners on 127.0.0.1: a server that answers as PostgreSQL does passes;
 * anything else is refused with its reason, in one connection, within the bound. The TLS case
 * makes its certificate with openssl, which puts this file in the tools tier.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { probePostgres, TargetUnreachableError } from "../../shared/clone/target-probe.ts";

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

let server: net.Server | null = null;
afterEach(() => {
  server?.close();
  server = null;
});

/** A listener that hands each connection to `onSocket`; counts them and keeps what they sent first. */
async function listener(onSocket: (socket: net.Socket) => void) {
  const seen = { connections: 0, first: [] as Buffer[] };
  server = net.createServer((socket) => {
    seen.connections++;
    socket.on("error", () => {});
    socket.once("data", (data: Buffer) => seen.first.push(data));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return { port, seen, address: { host: "127.0.0.1", port, shown: `db.example.test:${port}` } };
}

/** A port nothing listens on: one the OS just handed out and we closed again. */
async function closedPort(): Promise<number> {
  const { port } = await listener(() => {});
  await new Promise((resolve) => server!.close(resolve));
  server = null;
  return port;
}

async function refusal(probe: Promise<void>): Promise<TargetUnreachableError> {
  const error = await probe.then(() => null, (e) => e);
  expect(error).toBeInstanceOf(TargetUnreachableError);
  expect(error).toMatchObject({ code: "target_unreachable", status: 422 });
  return error;
}

describe("probing a clone target before connecting to it", () => {
  it("passes a server that answers the SSLRequest with N, after one connection", async () => {
    const { seen, address } = await listener((socket) => socket.once("data", () => socket.write("N")));
    await probePostgres(address, 2_000);
    expect(seen.connections).toBe(1);
    expect(seen.first[0]).toEqual(SSL_REQUEST);
  });

  it("finishes the TLS handshake of a server that answers S before hanging up, so it logs no failed one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "probe-tls-"));
    try {
      execFileSync("openssl", [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=db.example.test",
        "-days",
        "1",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ], { stdio: "ignore" });
      const key = readFileSync(join(dir, "key.pem"));
      const cert = readFileSync(join(dir, "cert.pem"));
      const handshakes: string[] = [];
      const { address } = await listener((socket) =>
        socket.once("data", () => {
          socket.write("S");
          const secure = new tls.TLSSocket(socket, { isServer: true, key, cert });
          secure.on("secure", () => handshakes.push("done"));
          secure.on("error", (error) => handshakes.push(`failed: ${error.message}`));
        })
      );
      await probePostgres({ ...address, servername: "db.example.test" }, 2_000);
      await expect.poll(() => handshakes, { timeout: 2_000 }).toEqual(["done"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a listener that accepts and never answers when the bound has passed, naming it", async () => {
    const { seen, address } = await listener(() => {});
    const error = await refusal(probePostgres(address, 400));
    expect(error.message).toContain(`db.example.test:${address.port}: no answer within 0.4 s`);
    expect(seen.connections).toBe(1);
  });

  it("refuses a port where nothing listens at once, as connection refused", async () => {
    const port = await closedPort();
    const error = await refusal(
      probePostgres({ host: "127.0.0.1", port, shown: `127.0.0.1:${port}` }, 5_000),
    );
    expect(error.message).toContain(`127.0.0.1:${port}: connection refused`);
  });

  it("refuses something that answers, but not as PostgreSQL, in one connection (an HTTP server hanging up)", async () => {
    // What made postgres.js reconnect hundreds of times a second until the platform killed the worker.
    const { seen, address } = await listener((socket) =>
      socket.once("data", () => socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n"))
    );
    const error = await refusal(probePostgres(address, 5_000));
    expect(error.message).toContain("not a PostgreSQL server");
    expect(seen.connections).toBe(1);
  });

  it("refuses a server that hangs up without answering", async () => {
    const { address } = await listener((socket) => socket.once("data", () => socket.end()));
    const error = await refusal(probePostgres(address, 5_000));
    expect(error.message).toContain("closed the connection without answering");
  });
});
