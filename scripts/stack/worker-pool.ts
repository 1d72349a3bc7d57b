/**
 * Routes function requests to workers the way Supabase's per-worker policy does: one worker per
 * function serves requests until its wall clock runs out or it is retired (soft CPU limit, an
 * idle request), then the next request boots a fresh one. Also the platform's request limits
 * (body size, request idle timeout) and the chaos controls the admin API exposes (list, kill,
 * change the limits and env, recent exits).
 */
import { join } from "node:path";
import type { EdgeFunction } from "./function-registry.ts";
import type { PlatformLimits } from "./platform-limits.ts";
import { createExitLog, type WorkerExit } from "./worker-exits.ts";
import { bodyTooLargeResponse, idleTimeoutResponse, readBodyWithin } from "./request-limits.ts";
import { bootErrorResponse, type InFlightRequest, WorkerProcess } from "./worker-process.ts";

export interface WorkerPoolOptions {
  repoDir: string;
  functionLogsDir: string;
  limits: PlatformLimits;
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
  retired: boolean;
  /** CPU spent serving so far (boot excluded), in ms. */
  cpuMs: number;
  peakRssMb: number;
}

export interface WorkerPool {
  /** Sends `request` to a live worker of `fn` at `path` (the URL path after /functions/v1). */
  forward(fn: EdgeFunction, request: Request, path: string): Promise<Response>;
  list(): WorkerSummary[];
  /** Recent worker exits with their reason, newest last. */
  exits(): WorkerExit[];
  /** SIGKILLs the workers of one function, or all; their in-flight requests get 546. */
  kill(functionName?: string): WorkerSummary[];
  limits(): PlatformLimits;
  config(): PlatformLimits & { env: Record<string, string> };
  /**
   * Worker limits apply to workers spawned from now on, request limits to requests from now on.
   * `env` is merged in; a null value removes a name.
   */
  configure(change: { limits?: PlatformLimits; env?: Record<string, string | null> }): void;
  shutdown(): void;
}

// Requests are not routed to a worker this close to its wall clock (a replacement boots instead).
const RETIRE_MARGIN_MS = 1000;

export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  let limits = { ...options.limits };
  const extraEnv: Record<string, string> = {};
  const exitLog = createExitLog();
  const workers = new Set<WorkerProcess>();
  const current = new Map<string, WorkerProcess>();

  function workerFor(fn: EdgeFunction): WorkerProcess {
    const existing = current.get(fn.name);
    const margin = Math.min(RETIRE_MARGIN_MS, (existing?.wallClockMs ?? 0) / 4);
    if (existing?.alive && !existing.retired && existing.timeLeftMs() > margin) return existing;
    const worker = new WorkerProcess({
      functionName: fn.name,
      entrypoint: fn.entrypoint,
      config: fn.config,
      cwd: fn.rootDir,
      repoDir: options.repoDir,
      logFile: join(options.functionLogsDir, `${fn.name}.log`),
      wallClockMs: limits.wallClockMs,
      cpuSoftLimitMs: limits.cpuSoftLimitMs,
      cpuHardLimitMs: limits.cpuHardLimitMs,
      memoryLimitMb: limits.memoryLimitMb,
      env: { ...options.baseEnv, ...options.functionEnv?.[fn.name], ...extraEnv },
    }, (exited) => {
      exitLog.record({
        ...summary(exited),
        exitedAt: new Date().toISOString(),
        reason: exited.exitReason ?? "crash",
      });
      workers.delete(exited);
      if (current.get(exited.functionName) === exited) current.delete(exited.functionName);
    });
    workers.add(worker);
    current.set(fn.name, worker);
    return worker;
  }

  async function forward(fn: EdgeFunction, request: Request, path: string): Promise<Response> {
    const { maxBodyBytes, requestIdleTimeoutMs } = limits;
    const body = request.method === "GET" || request.method === "HEAD"
      ? undefined
      : await readBodyWithin(request, maxBodyBytes);
    if (body === null) return bodyTooLargeResponse(maxBodyBytes);
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

    // Until the worker sends its response head; a streamed body may take longer, as on hosted.
    const idleTimer = setTimeout(() => {
      entry.terminate(idleTimeoutResponse());
      worker.retire("idle");
    }, requestIdleTimeoutMs);
    try {
      return await Promise.race([terminated, sendToWorker()]);
    } catch (error) {
      console.error(`[gateway] ${fn.name}: forwarding failed: ${error}`);
      return Response.json({ code: "BAD_GATEWAY", message: "Worker did not answer" }, { status: 502 });
    } finally {
      clearTimeout(idleTimer);
      worker.inFlight.delete(entry);
      worker.drainIfIdle();
    }
  }

  function summary(worker: WorkerProcess): WorkerSummary {
    return {
      function: worker.functionName,
      pid: worker.pid,
      startedAt: new Date(worker.startedAt).toISOString(),
      inFlight: worker.inFlight.size,
      retired: worker.retired,
      ...worker.usage(),
    };
  }

  return {
    forward,
    list: () => [...workers].filter((worker) => worker.alive).map(summary),
    exits: () => exitLog.list(),
    kill(functionName) {
      const targets = [...workers].filter((worker) =>
        worker.alive && (functionName === undefined || worker.functionName === functionName)
      );
      const killed = targets.map(summary);
      for (const worker of targets) worker.kill();
      return killed;
    },
    limits: () => ({ ...limits }),
    config: () => ({ ...limits, env: { ...extraEnv } }),
    configure(change) {
      if (change.limits) limits = { ...change.limits };
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
