/**
 * One edge-function worker: a `deno run` child serving the function's entry file on a private
 * port, with the platform's wall clock enforced by SIGKILL. Requests in flight when the worker
 * dies are answered at once with the platform's 546 instead of waiting for socket errors.
 */
import { join } from "node:path";

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
  env: Record<string, string>;
  readyTimeoutMs?: number;
}

/** A request the worker owes an answer; `terminate` answers it on the worker's behalf. */
export interface InFlightRequest {
  terminate(response: Response): void;
}

export function workerLimitResponse(): Response {
  return Response.json(
    { code: "WORKER_LIMIT", message: "Worker was terminated (wall clock limit or kill)" },
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
  #wallClockTimer: ReturnType<typeof setTimeout>;

  constructor(options: WorkerSpawnOptions, onExit: (worker: WorkerProcess) => void) {
    this.functionName = options.functionName;
    this.wallClockMs = options.wallClockMs;
    this.port = pickFreePort();
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        // No lockfile: the hosted bundler gets none either (deno.lock is not in a deploy set).
        "run", "-A", "--no-prompt", "--no-lock", ...(options.config ? ["--config", options.config] : []),
        join(options.repoDir, "scripts", "stack", "worker-host.ts"), options.entrypoint,
      ],
      cwd: options.cwd,
      clearEnv: true,
      env: {
        ...options.env,
        REELFORGE_WALL_CLOCK_MS: String(options.wallClockMs),
        DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${this.port}`,
        NO_COLOR: "1",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    appendLogs(options.logFile, this.#child, `--- worker pid ${this.pid} port ${this.port} started ${new Date().toISOString()}`)
      .catch((error) => console.error(`[gateway] cannot write ${options.logFile}: ${error}`));

    this.#wallClockTimer = setTimeout(() => this.kill(), this.wallClockMs);
    const exited = this.#child.status.then(() => {
      this.#alive = false;
      clearTimeout(this.#wallClockTimer);
      this.#answerInFlight();
      onExit(this);
    });
    this.ready = waitForPort(this.port, exited, options.readyTimeoutMs ?? 60_000);
    this.ready.then(() => (this.#listening = true), () => {
      this.#answerInFlight();
      this.kill();
    });
  }

  get alive(): boolean {
    return this.#alive;
  }

  /** Milliseconds until the wall clock kills this worker. */
  timeLeftMs(now = Date.now()): number {
    return this.startedAt + this.wallClockMs - now;
  }

  /** SIGKILLs the worker; everything in flight is answered 546 immediately. */
  kill(): void {
    if (!this.#alive) return;
    this.#alive = false;
    this.#killed = true;
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
  throw new Error(hasExited ? "worker exited before listening" : `worker not listening after ${timeoutMs} ms`);
}

async function appendLogs(logFile: string, child: Deno.ChildProcess, banner: string): Promise<void> {
  await Deno.writeTextFile(logFile, banner + "\n", { append: true });
  for (const stream of [child.stdout, child.stderr]) {
    const file = await Deno.open(logFile, { append: true, create: true });
    // Chunk by chunk: pipeTo(file.writable) held everything back until the worker exited, so a
    // live worker's log stayed empty.
    (async () => {
      for await (const chunk of stream) {
        for (let written = 0; written < chunk.length;) written += await file.write(chunk.subarray(written));
      }
    })().catch(() => {}).finally(() => file.close());
  }
}
