/**
 * The gateway enforces the platform's limits as hosted does, each proved by making it fire with
 * the limits-probe fixture: the caller's answer (546, 504, 413), no CORS headers on it, and the
 * worker's exit reason in /_stack/workers. Limits are lowered through /_stack/config for the test
 * and restored after. Needs a running stack (`npm run stack:start`).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { admin, stackEnv, waitFor } from "../support/stack.ts";

const env = stackEnv();
const probeUrl = `${env.API_URL}/functions/v1/limits-probe`;
const headers = { authorization: `Bearer ${env.ANON_KEY}`, origin: "https://app.example" };

interface Limits {
  wallClockMs: number;
  requestIdleTimeoutMs: number;
  cpuSoftLimitMs: number;
  cpuHardLimitMs: number;
  memoryLimitMb: number;
  maxBodyBytes: number;
  storageFileSizeLimitBytes: number;
}
interface Exit {
  function: string;
  pid: number;
  reason: string;
}
interface Live {
  function: string;
  pid: number;
  inFlight: number;
  retired: boolean;
}

let defaults: Limits;

async function exitOf(pid: number): Promise<Exit> {
  return await waitFor(
    async () => ((await admin("workers")).exits as Exit[]).find((exit) => exit.pid === pid),
    {
      timeoutMs: 30_000,
      what: `worker ${pid} to exit`,
    },
  );
}

/** The pid of the probe worker serving a request that is still in flight. */
async function busyProbePid(): Promise<number> {
  const busy = await waitFor(
    async () =>
      ((await admin("workers")).live as Live[]).find((w) => w.function === "limits-probe" && w.inFlight > 0),
    {
      timeoutMs: 30_000,
      what: "a probe request in flight",
    },
  );
  return busy.pid;
}

async function probe(path: string, init: RequestInit = {}) {
  const response = await fetch(`${probeUrl}${path}`, { ...init, headers: { ...headers, ...init.headers } });
  return {
    status: response.status,
    cors: response.headers.get("access-control-allow-origin"),
    json: await response.json(),
  };
}

beforeAll(async () => {
  defaults = await admin("limits");
});

beforeEach(async () => {
  await admin("config", defaults);
  await admin("workers/kill", { function: "limits-probe" });
});

afterAll(async () => {
  await admin("config", defaults);
  await admin("workers/kill", { function: "limits-probe" });
});

describe("GET /_stack/limits", () => {
  it("reports the limits in force, Supabase's published values unless the stack was told otherwise", async () => {
    expect(Object.keys(defaults).sort()).toEqual(
      [
        "cpuHardLimitMs",
        "cpuSoftLimitMs",
        "maxBodyBytes",
        "memoryLimitMb",
        "requestIdleTimeoutMs",
        "storageFileSizeLimitBytes",
        "wallClockMs",
      ],
    );
    for (const value of Object.values(defaults)) expect(Number.isInteger(value) && value > 0).toBe(true);
    expect(defaults.cpuSoftLimitMs).toBeLessThanOrEqual(defaults.cpuHardLimitMs);

    await admin("config", { cpuSoftLimitMs: 700 });
    expect(await admin("limits")).toEqual({ ...defaults, cpuSoftLimitMs: 700 });
  });

  it("is for the service role only, and refuses a soft CPU limit above the hard one", async () => {
    const anon = await fetch(`${env.API_URL}/_stack/limits`, { headers });
    expect(anon.status).toBe(401);
    await anon.body?.cancel();
    await expect(admin("config", { cpuSoftLimitMs: 5000, cpuHardLimitMs: 4000 })).rejects.toThrow(/400/);
    await expect(admin("config", { memoryLimitMb: -1 })).rejects.toThrow(/400/);
  });
});

describe("the CPU limits", () => {
  it("retire a worker past the soft limit: its request finishes, the next one gets a new worker", async () => {
    await admin("config", { cpuSoftLimitMs: 300, cpuHardLimitMs: 60_000 });
    const burnt = await probe("/burn?cpuMs=600");
    expect(burnt.status).toBe(200);
    expect(burnt.cors).toBeNull();

    const next = await probe("/ping");
    expect(next.status).toBe(200);
    expect(next.json.pid).not.toBe(burnt.json.pid);
    expect((await exitOf(burnt.json.pid)).reason).toBe("cpu_soft");
  });

  it("kill a worker at the hard limit and answer its request 546 WORKER_LIMIT", async () => {
    await admin("config", { cpuSoftLimitMs: 200, cpuHardLimitMs: 500 });
    const pending = probe("/burn?cpuMs=5000");
    const pid = await busyProbePid();
    const answer = await pending;
    expect(answer.status).toBe(546);
    expect(answer.cors).toBeNull();
    expect(answer.json.code).toBe("WORKER_LIMIT");
    expect((await exitOf(pid)).reason).toBe("cpu_hard");
  });
});

describe("the memory limit", () => {
  it("kills a worker that outgrows it and answers its request 546 WORKER_LIMIT", async () => {
    await admin("config", { memoryLimitMb: 160 });
    const pending = probe("/alloc?mb=400");
    const pid = await busyProbePid();
    const answer = await pending;
    expect(answer.status).toBe(546);
    expect(answer.cors).toBeNull();
    expect(answer.json.code).toBe("WORKER_LIMIT");
    expect((await exitOf(pid)).reason).toBe("memory");
  });

  it("stops a synchronous burst of heap allocation too, recorded as memory", async () => {
    await admin("config", { memoryLimitMb: 160 });
    const pending = probe("/heap?mb=400");
    const pid = await busyProbePid();
    const answer = await pending;
    expect(answer.status).toBe(546);
    expect(answer.cors).toBeNull();
    expect((await exitOf(pid)).reason).toBe("memory");
  });
});

describe("the request idle timeout", () => {
  it("answers 504 for a worker that sends no response, and retires that worker", async () => {
    await admin("config", { requestIdleTimeoutMs: 1500 });
    const pending = probe("/hang");
    const pid = await busyProbePid();
    const answer = await pending;
    expect(answer.status).toBe(504);
    expect(answer.cors).toBeNull();
    expect((await exitOf(pid)).reason).toBe("idle");

    const next = await probe("/ping");
    expect(next.status).toBe(200);
    expect(next.json.pid).not.toBe(pid);
  });
});

describe("the wall clock", () => {
  it("kills a worker at the end of its life and answers its request 546", async () => {
    await admin("config", { wallClockMs: 3000 });
    const pending = probe("/hang");
    const pid = await busyProbePid();
    const answer = await pending;
    expect(answer.status).toBe(546);
    expect(answer.cors).toBeNull();
    expect((await exitOf(pid)).reason).toBe("wall_clock");
  });
});

describe("the request body limit", () => {
  it("refuses a body over the limit with 413 before any worker sees it, and forwards one within it", async () => {
    await admin("config", { maxBodyBytes: 1000 });
    const within = await probe("/echo", { method: "POST", body: "x".repeat(1000) });
    expect(within).toMatchObject({ status: 200, json: { bodyBytes: 1000 } });

    const over = await probe("/echo", { method: "POST", body: "x".repeat(1001) });
    expect(over.status).toBe(413);
    expect(over.cors).toBeNull();
    expect(over.json.code).toBe("PAYLOAD_TOO_LARGE");
  });
});

describe("an admin kill", () => {
  it("is recorded as killed, not as a limit", async () => {
    const { pid } = (await probe("/ping")).json;
    await admin("workers/kill", { function: "limits-probe" });
    expect((await exitOf(pid)).reason).toBe("killed");
  });
});
