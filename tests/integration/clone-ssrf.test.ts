/**
 * clone-database as an attacker would aim it: at loopback, private and metadata addresses in every
 * spelling, at a name that resolves to loopback, at other ports, through a redirect. Each start is
 * a 400 before any socket is opened — loopback listeners count every connection they get — and
 * creates no job. The stack's clone-database trusts its network (private targets allowed, for the
 * clone tests); the first part runs it with the default settings instead.
 */
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTargetDatabase } from "../support/clone-db.ts";
import { admin, connect, createOperatorUser, invoke, type Sql, type TestUser } from "../support/stack.ts";

let sql: Sql;
let operator: TestUser;
let port: number;
let connections = 0;
const listeners: Server[] = [];
let redirector: HttpServer;
let redirects = 0;
const dropTargets: Array<() => Promise<void>> = [];

const clone = (body: Record<string, unknown>) => invoke("clone-database", body, { token: operator.token });
const cloneJobs = async () =>
  (await sql`select count(*)::int as n from public.background_tasks where kind = 'clone.database'`)[0].n;

async function listen(server: Server | HttpServer, host: string, wanted = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(wanted, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** Sets clone-database's env for workers started from now on, and retires the running ones. */
async function cloneEnv(env: Record<string, string | null>) {
  await admin("config", { env });
  await admin("workers/kill", { function: "clone-database" });
}

/** A start that must be refused with `code`, opening no connection and creating no job. */
async function expectRefused(body: Record<string, unknown>, code: string) {
  const jobsBefore = await cloneJobs();
  const connectionsBefore = connections;
  const response = await clone({ action: "start", ...body });
  expect(response.status, response.text).toBe(400);
  expect(response.json.error.code).toBe(code);
  expect(response.text).not.toContain(":pw@");
  expect(connections).toBe(connectionsBefore);
  expect(await cloneJobs()).toBe(jobsBefore);
  return response.json.error.message as string;
}

beforeAll(async () => {
  sql = connect(2);
  operator = await createOperatorUser();
  const v4 = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  port = await listen(v4, "127.0.0.1");
  listeners.push(v4);
  const v6 = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await listen(v6, "::1", port);
  listeners.push(v6);
  redirector = createHttpServer((request, response) => {
    redirects++;
    response.writeHead(302, { location: `http://127.0.0.1:${port}${request.url}` }).end();
  });
  await listen(redirector, "127.0.0.1");
});

afterAll(async () => {
  await cloneEnv({ REELFORGE_CLONE_ALLOW_PRIVATE_TARGETS: null, REELFORGE_CLONE_ALLOWED_PORTS: null });
  for (const server of [...listeners, redirector]) server.close();
  for (const drop of dropTargets) await drop();
  await sql.end();
});

describe("clone targets with the default settings (private targets not allowed)", () => {
  beforeAll(async () => {
    // The listener's port is allowed, so only the address rule stands between the clone and it.
    await cloneEnv({
      REELFORGE_CLONE_ALLOW_PRIVATE_TARGETS: "false",
      REELFORGE_CLONE_ALLOWED_PORTS: `5432,6543,${port}`,
    });
  });

  it.each([
    ["loopback", () => `127.0.0.1:${port}`],
    ["IPv6 loopback", () => `[::1]:${port}`],
    ["a name that resolves to loopback", () => `localhost:${port}`],
    ["loopback as a decimal number", () => `2130706433:${port}`],
    ["loopback in hex", () => `0x7f000001:${port}`],
    ["loopback in octal", () => `0177.0.0.1:${port}`],
    ["loopback as IPv4-mapped IPv6", () => `[::ffff:127.0.0.1]:${port}`],
    ["a private address", () => "10.0.0.1:5432"],
    ["the cloud metadata address", () => "169.254.169.254:5432"],
    ["the unspecified address", () => `0.0.0.0:${port}`],
  ])("refuses %s before connecting", async (_label, hostPort) => {
    const message = await expectRefused(
      { targetUrl: `postgresql://postgres:pw@${hostPort()}/postgres` },
      "target_not_allowed",
    );
    expect(message).toMatch(/^targetUrl points at /);
  });

  it("refuses a target Storage URL on loopback or over http, even when the database target is public", async () => {
    // 93.184.215.14 is public: the database target passes, and the Storage URL is what is refused
    // (before the database target is connected to: this machine has no route there anyway).
    const targetUrl = "postgresql://postgres:pw@93.184.215.14:5432/postgres";
    for (const url of [`https://localhost:${port}`, `https://127.0.0.1`, "http://93.184.215.14"]) {
      const message = await expectRefused(
        {
          targetUrl,
          options: {
            includeStorage: true,
            targetStorage: { url, serviceRoleKey: "a-service-role-key-of-the-target" },
          },
        },
        "target_not_allowed",
      );
      expect(message).toMatch(/^targetStorage\.url /);
    }
  });
});

describe("clone targets on the stack's trusted network (its own settings)", () => {
  beforeAll(async () => {
    await cloneEnv({ REELFORGE_CLONE_ALLOW_PRIVATE_TARGETS: null, REELFORGE_CLONE_ALLOWED_PORTS: null });
  });

  it("refuses a port the operator did not allow", async () => {
    const message = await expectRefused(
      { targetUrl: `postgresql://postgres:pw@127.0.0.1:${port}/postgres` },
      "target_not_allowed",
    );
    expect(message).toContain(`port ${port} is not allowed`);
  });

  it("refuses a target Storage API that redirects, without following it", async () => {
    const target = await createTargetDatabase("clone_ssrf");
    dropTargets.push(() => target.drop());
    const storageUrl = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
    const redirectsBefore = redirects;
    const message = await expectRefused({
      targetUrl: target.url,
      options: {
        includeData: false,
        includeStorage: true,
        targetStorage: { url: storageUrl, serviceRoleKey: "a-service-role-key-of-the-target" },
      },
    }, "target_not_allowed");
    expect(message).toContain("redirect");
    expect(redirects).toBe(redirectsBefore + 1);
  });

  it("does connect to the listener once its port is allowed (the listeners see connections)", async () => {
    await cloneEnv({ REELFORGE_CLONE_ALLOWED_PORTS: `5432,6543,${port}` });
    const jobsBefore = await cloneJobs();
    const before = connections;
    const start = await clone({
      action: "start",
      targetUrl: `postgresql://postgres:pw@127.0.0.1:${port}/postgres`,
    });
    // The listener hangs up without answering as PostgreSQL would: refused, and no job.
    expect(start.status, start.text).toBe(422);
    expect(start.json.error.code).toBe("target_unreachable");
    expect(start.text).not.toContain(":pw@");
    expect(connections).toBeGreaterThan(before);
    expect(await cloneJobs()).toBe(jobsBefore);
    await cloneEnv({ REELFORGE_CLONE_ALLOWED_PORTS: null });
  });

  it("still refuses the metadata address on a trusted network", async () => {
    await expectRefused(
      { targetUrl: "postgresql://postgres:pw@169.254.169.254:5432/postgres" },
      "target_not_allowed",
    );
  });
});
