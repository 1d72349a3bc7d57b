/**
 * `stack start` with its ports held elsewhere says who holds them and how to stop it: here, read
 * against the running stack, as a second checkout's start would see it.
 */
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { describePortHolder, findPortHolder } from "../../scripts/stack/port-holder.ts";
import { stackDir, stackEnv } from "../support/stack.ts";

const portOf = (url: string) => Number(new URL(url.replace(/^postgresql:/, "http:")).port);

describe("ports held by another stack", () => {
  it("finds this stack behind its gateway and its Postgres ports", async () => {
    const env = stackEnv();
    for (const port of [portOf(env.API_URL), portOf(env.DB_URL)]) {
      const holder = await findPortHolder(port);
      expect(holder, `port ${port}`).not.toBeNull();
      expect(holder!.stackDir, `port ${port}: ${holder!.command}`).toBe(stackDir);
    }
  });

  it("tells another checkout how to stop it, and names a foreign holder without guessing", async () => {
    const holder = (await findPortHolder(portOf(stackEnv().API_URL)))!;
    const seenFromElsewhere = describePortHolder(holder, "/some/other/checkout/.stack");
    expect(seenFromElsewhere).toContain(`another Reelforge stack, in ${stackDir}`);
    expect(seenFromElsewhere).toMatch(/npm run stack:stop/);
    expect(seenFromElsewhere).toContain("REELFORGE_API_PORT");

    const server = createServer().listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const foreign = (await findPortHolder(port))!;
      expect(foreign.stackDir).toBeNull();
      expect(foreign.pid).toBe(process.pid);
      expect(describePortHolder(foreign, stackDir)).toContain(`port ${port} is in use by`);
    } finally {
      server.close();
    }
  });

  it("finds nothing on a free port", async () => {
    const server = createServer().listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    expect(await findPortHolder(port)).toBeNull();
  });
});
