/**
 * One edge-function worker: a `deno run` child serving the function's entry file on a private
 * port, under the platform's limits: the wall clock, CPU and memory are enforced by SIGKILL (CPU
 * and memory sampled from outside, worker-meter.ts), the soft CPU limit and an idle request
 * retire it. Requests in flight when the worker dies are answered at once with the platform's
 * 546 instead of waiting for socket errors. Why it ended is kept in `exitReason`.
 */
import { join } from "node:path";
import type { ExitReason } from "./worker-exits.ts";
import { startWorkerMeter, type WorkerMeter } from "./worker-meter.ts";

export interface WorkerSpawnOptions {
  functionName: string;
  entrypoint: string;
  /** The config file (deno.json) the function runs with; its deploy set's copy. */
  config?: string;
  /** The worker's working directory: the function's deploy set. */
  cwd: string;
  repoDir: string;
  logFile: string;
  wallClockMs: number;
  cpuSoftLimitMs: number;
  cpuHardLimitMs: number;
  memoryLimitMb: number;
  env: Record<string, string>;
  readyTimeoutMs?: number;
}

// worker-host.ts drains on this signal: it exits once its background work has settled.
export const DRAIN_SIGNAL = "SIGUSR2";

/** A request the worker owes an answer; `terminate` answers it on the worker's behalf. */
export interface InFlightRequest {
  terminate(response: Response): void;
}

/** What hosted answers for a request whose worker was killed (CPU, memory, wall clock). */
export function workerLimitResponse(): Response {
  return Response.json(
    {
      code: "WORKER_LIMIT",
      message: "Function failed due to not having enough compute resources (please check logs)",
    },
    { status: 546 },
  );
}

export function bootErrorResponse(): Response {
  return Response.json(
    { code: "BOOT_ERROR", message: "Worker failed to boot (please check logs)" },
    { status: 503 },
  );
}

export class WorkerProcess {
  readonly functionName: string;
  readonly startedAt = Date.now();
  readonly wallClockMs: number;
  readonly port: number;
  readonly pid: number;
  /** Resolves when the port accepts connections; rejects if the worker exits or never listens. */
  readonly ready: Promise<void>;
  readonly inFlight = new Set<InFlightRequest>();
  #child: Deno.ChildProcess;
  #alive = true;
  #listening = false;
  #killed = false;
  #retired = false;
  #exitReason: ExitReason | null = null;
  #sawOutOfMemory = false;
  #meter: WorkerMeter | null = null;
  #wallClockTimer: ReturnType<typeof setTimeout>;

  constructor(options: WorkerSpawnOptions, onExit: (worker: WorkerProcess) => void) {
    this.functionName = options.functionName;
    this.wallClockMs = options.wallClockMs;
    this.port = pickFreePort();
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        // No lockfile: the hosted bundler gets none either (deno.lock is not in a deploy set).
        "run",
        "-A",
        "--no-prompt",
        "--no-lock",
        ...(options.config ? ["--config", options.config] : []),
        // V8's own heap cap catches an allocation faster than the sampler; the crash it causes
        // is recognised in the log stream and recorded as `memory`.
        `--v8-flags=--max-old-space-size=${options.memoryLimitMb}`,
        join(options.repoDir, "scripts", "stack", "worker-host.ts"),
        options.entrypoint,
      ],
      cwd: options.cwd,
      clearEnv: true,
      env: {
        ...options.env,
        REELFORGE_WALL_CLOCK_MS: String(options.wallClockMs),
        // What hosted functions assume (config.ts defaults), told so slices can budget CPU.
        REELFORGE_CPU_SOFT_LIMIT_MS: String(options.cpuSoftLimitMs),
        REELFORGE_CPU_HARD_LIMIT_MS: String(options.cpuHardLimitMs),
        DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${this.port}`,
        NO_COLOR: "1",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    appendLogs(
      options.logFile,
      this.#child,
      `--- worker pid ${this.pid} port ${this.port} started ${new Date().toISOString()}`,
      (text) => {
        if (/out of memory|heap limit/i.test(text)) this.#sawOutOfMemory = true;
      },
    )
      .catch((error) => console.error(`[gateway] cannot write ${options.logFile}: ${error}`));

    this.#wallClockTimer = setTimeout(() => this.kill("wall_clock"), this.wallClockMs);
    const exited = this.#child.status.then(() => {
      this.#alive = false;
      // Exited by itself: V8's heap limit, a drain after retirement, or a crash.
      if (!this.#killed) {
        this.#exitReason = this.#sawOutOfMemory
          ? "memory"
          : (this.#retired ? this.#exitReason : null) ?? "crash";
      }
      this.#meter?.stop();
      clearTimeout(this.#wallClockTimer);
      this.#answerInFlight();
      onExit(this);
    });
    this.ready = waitForPort(this.port, exited, options.readyTimeoutMs ?? 60_000);
    this.ready.then(() => {
      this.#listening = true;
      this.#meter = startWorkerMeter({
        pid: this.pid,
        cpuSoftLimitMs: options.cpuSoftLimitMs,
        cpuHardLimitMs: options.cpuHardLimitMs,
        memoryLimitMb: options.memoryLimitMb,
        onLimit: (limit) => limit === "cpu_soft" ? this.retire("cpu_soft") : this.kill(limit),
      });
    }, () => {
      this.#answerInFlight();
      this.kill("crash");
    });
  }

  /** Why the worker ended (or is ending); null while it lives unretired. */
  get exitReason(): ExitReason | null {
    return this.#exitReason;
  }

  /** A retired worker takes no new requests; it ends once it has finished what it has. */
  get retired(): boolean {
    return this.#retired;
  }

  /** CPU spent serving so far, in ms, and the peak resident memory, as last sampled. */
  usage(): { cpuMs: number; peakRssMb: number } {
    return { cpuMs: this.#meter?.cpuMs() ?? 0, peakRssMb: Math.round(this.#meter?.peakRssMb() ?? 0) };
  }

  /**
   * Retires the worker as edge-runtime does at its soft limits: no new requests are routed to it;
   * once nothing is in flight it is told to drain (finish its waitUntil work, then exit).
   */
  retire(reason: ExitReason): void {
    if (!this.#alive || this.#retired) return;
    this.#retired = true;
    this.#exitReason ??= reason;
    this.drainIfIdle();
  }

  /** Called by the pool when a request ends: a retired worker with nothing in flight drains. */
  drainIfIdle(): void {
    if (!this.#alive || !this.#retired || this.inFlight.size > 0) return;
    try {
      this.#child.kill(DRAIN_SIGNAL);
    } catch {
      // Already gone.
    }
  }

  get alive(): boolean {
    return this.#alive;
  }

  /** Milliseconds until the wall clock kills this worker. */
  timeLeftMs(now = Date.now()): number {
    return this.startedAt + this.wallClockMs - now;
  }

  /** SIGKILLs the worker; everything in flight is answered 546 immediately. */
  kill(reason: ExitReason = "killed"): void {
    if (!this.#alive) return;
    this.#alive = false;
    this.#killed = true;
    // A limit that kills outranks the retirement that came before it.
    this.#exitReason =
      this.#exitReason === null || this.#exitReason === "cpu_soft" || this.#exitReason === "idle"
        ? reason
        : this.#exitReason;
    clearTimeout(this.#wallClockTimer);
    this.#answerInFlight();
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already gone: the exit handler has run or is about to.
    }
  }

  // A worker that dies by itself before listening failed to boot; anything else hit a limit.
  #answerInFlight(): void {
    const bootFailed = !this.#killed && !this.#listening;
    for (const request of this.inFlight) {
      request.terminate(bootFailed ? bootErrorResponse() : workerLimitResponse());
    }
    this.inFlight.clear();
  }
}

function pickFreePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function waitForPort(port: number, exited: Promise<void>, timeoutMs: number): Promise<void> {
  let hasExited = false;
  exited.then(() => (hasExited = true));
  const deadline = Date.now() + timeoutMs;
  while (!hasExited && Date.now() < deadline) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  throw new Error(
    hasExited ? "worker exited before listening" : `worker not listening after ${timeoutMs} ms`,
  );
}

async function appendLogs(
  logFile: string,
  child: Deno.ChildProcess,
  banner: string,
  onText: (text: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  await Deno.writeTextFile(logFile, banner + "\n", { append: true });
  for (const stream of [child.stdout, child.stderr]) {
    const file = await Deno.open(logFile, { append: true, create: true });
    // Chunk by chunk: pipeTo(file.writable) held everything back until the worker exited, so a
    // live worker's log stayed empty.
    (async () => {
      for await (const chunk of stream) {
        onText(decoder.decode(chunk, { stream: true }));
        for (let written = 0; written < chunk.length;) written += await file.write(chunk.subarray(written));
      }
    })().catch(() => {}).finally(() => file.close());
  }
}
