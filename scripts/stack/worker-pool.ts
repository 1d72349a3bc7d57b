/**
 * Routes function requests to workers the way Supabase's per-worker policy does: one worker per
 * function serves requests until its wall clock runs out, then the next request boots a fresh one.
 * Also the chaos controls the admin API exposes (list, kill, change the wall clock).
 */
import { join } from "node:path";
import type { EdgeFunction } from "./function-registry.ts";
import { bootErrorResponse, type InFlightRequest, WorkerProcess } from "./worker-process.ts";

export interface WorkerPoolOptions {
  repoDir: string;
  functionLogsDir: string;
  wallClockMs: number;
  /** Env every worker gets (platform variables, PATH, HOME, ...). */
  baseEnv: Record<string, string>;
  /** Env only one function's workers get, over baseEnv (operator settings such as clone targets). */
  functionEnv?: Record<string, Record<string, string>>;
}

export interface WorkerSummary {
  function: string;
  pid: number;
  startedAt: string;
  inFlight: number;
}

export interface WorkerPool {
  /** Sends `request` to a live worker of `fn` at `path` (the URL path after /functions/v1). */
  forward(fn: EdgeFunction, request: Request, path: string): Promise<Response>;
  list(): WorkerSummary[];
  /** SIGKILLs the workers of one function, or all; their in-flight requests get 546. */
  kill(functionName?: string): WorkerSummary[];
  config(): { wallClockMs: number; env: Record<string, string> };
  /** Applies to workers spawned from now on. `env` is merged in; a null value removes a name. */
  configure(change: { wallClockMs?: number; env?: Record<string, string | null> }): void;
  shutdown(): void;
}

// Requests are not routed to a worker this close to its wall clock (a replacement boots instead).
const RETIRE_MARGIN_MS = 1000;

export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  let wallClockMs = options.wallClockMs;
  let extraEnv: Record<string, string> = {};
  const workers = new Set<WorkerProcess>();
  const current = new Map<string, WorkerProcess>();

  function workerFor(fn: EdgeFunction): WorkerProcess {
    const existing = current.get(fn.name);
    const margin = Math.min(RETIRE_MARGIN_MS, (existing?.wallClockMs ?? 0) / 4);
    if (existing?.alive && existing.timeLeftMs() > margin) return existing;
    const worker = new WorkerProcess({
      functionName: fn.name,
      entrypoint: fn.entrypoint,
      config: fn.config,
      cwd: fn.rootDir,
      repoDir: options.repoDir,
      logFile: join(options.functionLogsDir, `${fn.name}.log`),
      wallClockMs,
      env: { ...options.baseEnv, ...options.functionEnv?.[fn.name], ...extraEnv },
    }, (exited) => {
      workers.delete(exited);
      if (current.get(exited.functionName) === exited) current.delete(exited.functionName);
    });
    workers.add(worker);
    current.set(fn.name, worker);
    return worker;
  }

  async function forward(fn: EdgeFunction, request: Request, path: string): Promise<Response> {
    const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
    const worker = workerFor(fn);
    const upstreamAbort = new AbortController();
    let terminate!: (response: Response) => void;
    const terminated = new Promise<Response>((resolve) => (terminate = resolve));
    const entry: InFlightRequest = {
      terminate(response) {
        upstreamAbort.abort();
        terminate(response);
      },
    };
    worker.inFlight.add(entry);

    const sendToWorker = async (): Promise<Response> => {
      try {
        await worker.ready;
      } catch {
        return bootErrorResponse();
      }
      const headers = new Headers(request.headers);
      headers.delete("host");
      headers.delete("content-length");
      return await fetch(`http://127.0.0.1:${worker.port}${path}${new URL(request.url).search}`, {
        method: request.method,
        headers,
        body,
        redirect: "manual",
        signal: AbortSignal.any([upstreamAbort.signal, request.signal]),
      });
    };

    try {
      return await Promise.race([terminated, sendToWorker()]);
    } catch (error) {
      console.error(`[gateway] ${fn.name}: forwarding failed: ${error}`);
      return Response.json({ code: "BAD_GATEWAY", message: "Worker did not answer" }, { status: 502 });
    } finally {
      worker.inFlight.delete(entry);
    }
  }

  function summary(worker: WorkerProcess): WorkerSummary {
    return {
      function: worker.functionName,
      pid: worker.pid,
      startedAt: new Date(worker.startedAt).toISOString(),
      inFlight: worker.inFlight.size,
    };
  }

  return {
    forward,
    list: () => [...workers].filter((worker) => worker.alive).map(summary),
    kill(functionName) {
      const targets = [...workers].filter((worker) =>
        worker.alive && (functionName === undefined || worker.functionName === functionName)
      );
      const killed = targets.map(summary);
      for (const worker of targets) worker.kill();
      return killed;
    },
    config: () => ({ wallClockMs, env: { ...extraEnv } }),
    configure(change) {
      if (change.wallClockMs !== undefined) wallClockMs = change.wallClockMs;
      for (const [name, value] of Object.entries(change.env ?? {})) {
        if (value === null) delete extraEnv[name];
        else extraEnv[name] = value;
      }
    },
    shutdown() {
      for (const worker of workers) worker.kill();
    },
  };
}
