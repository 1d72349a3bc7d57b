/** The local stack's /_stack admin endpoints the clone benchmark drives (service role key). */

export interface WorkerSummary {
  function: string;
  pid: number;
  startedAt: string;
  inFlight: number;
  /** CPU it spent serving (boot excluded), in ms, as the gateway last sampled it. */
  cpuMs?: number;
}

export interface StackAdmin {
  /** The live workers (GET /_stack/workers answers {live, exits}; exits are slice-report.ts's). */
  workers(): Promise<WorkerSummary[]>;
  /** The live workers and the recent exits, from one reading. */
  workersAndExits(): Promise<{ live: WorkerSummary[]; exits: WorkerSummary[] }>;
  /** Pids of recently exited workers (the exit is recorded once the process is gone). */
  exitedPids(): Promise<number[]>;
  /** SIGKILLs the function's live workers; returns those it killed. */
  kill(fn: string): Promise<WorkerSummary[]>;
  /** Env for workers spawned from now on; null removes a name. */
  setWorkerEnv(
    env: Record<string, string | null>,
  ): Promise<{ wallClockMs: number; env: Record<string, string> }>;
  config(): Promise<{ wallClockMs: number; env: Record<string, string> }>;
}

export function stackAdmin(apiUrl: string, serviceRoleKey: string): StackAdmin {
  async function call<T>(path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${apiUrl}/_stack/${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { authorization: `Bearer ${serviceRoleKey}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`/_stack/${path} answered ${response.status}: ${text}`);
    return JSON.parse(text) as T;
  }
  return {
    workers: async () => (await call<{ live: WorkerSummary[] }>("workers")).live,
    workersAndExits: () => call("workers"),
    exitedPids: async () => (await call<{ exits: WorkerSummary[] }>("workers")).exits.map((exit) => exit.pid),
    kill: async (fn) => (await call<{ killed: WorkerSummary[] }>("workers/kill", { function: fn })).killed,
    setWorkerEnv: (env) => call("config", { env }),
    config: () => call("config"),
  };
}
