/**
 * The pg_net stand-in: delivers rows of net.http_request_queue and records each outcome in
 * net._http_response. Woken by NOTIFY (sent only on commit) with a polling fallback; a slow
 * request never holds up the next batch.
 */
import postgres from "postgres";
import { appendFile } from "node:fs/promises";

export interface NetDispatcherOptions {
  dbUrl: string;
  logFile: string;
  pollIntervalMs?: number;
  batchSize?: number;
}

interface QueuedRequest {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string> | null;
  body: Uint8Array<ArrayBuffer> | null;
  timeout_milliseconds: number;
}

const MAX_CONTENT_CHARS = 64 * 1024;

export interface NetDispatcher {
  stop(): Promise<void>;
}

/** Connects, listens on `reelforge_net` and starts delivering. */
export async function startNetDispatcher(options: NetDispatcherOptions): Promise<NetDispatcher> {
  const sql = postgres(options.dbUrl, { max: 4, onnotice: () => {}, connection: { application_name: "reelforge_net" } });
  const batchSize = options.batchSize ?? 100;
  let draining = false;
  let drainAgain = false;
  let stopped = false;

  async function takeBatch(): Promise<QueuedRequest[]> {
    return await sql<QueuedRequest[]>`
      delete from net.http_request_queue
      where id in (
        select id from net.http_request_queue order by id limit ${batchSize} for update skip locked
      )
      returning id, method, url, headers, body, timeout_milliseconds`;
  }

  // Rounds never overlap; a wake-up during a round makes it go again.
  async function drain(): Promise<void> {
    if (draining) {
      drainAgain = true;
      return;
    }
    draining = true;
    try {
      do {
        drainAgain = false;
        const batch = await takeBatch();
        for (const request of batch) void deliver(request);
        if (batch.length === batchSize) drainAgain = true;
      } while (drainAgain && !stopped);
    } catch (error) {
      if (!stopped) console.error(`[net] taking queued requests failed: ${error}`);
    } finally {
      draining = false;
    }
  }

  async function deliver(request: QueuedRequest): Promise<void> {
    const started = performance.now();
    let outcome: { status: number | null; contentType: string | null; headers: Record<string, string> | null; content: string | null; timedOut: boolean; error: string | null };
    try {
      const response = await fetch(request.url, {
        method: request.method,
        headers: Object.entries(request.headers ?? {}).map(([name, value]): [string, string] => [name, String(value)]),
        body: request.body && request.method !== "GET" ? request.body : undefined,
        signal: AbortSignal.timeout(request.timeout_milliseconds),
      });
      const content = await response.text();
      outcome = {
        status: response.status,
        contentType: response.headers.get("content-type"),
        headers: Object.fromEntries(response.headers),
        content: content.slice(0, MAX_CONTENT_CHARS),
        timedOut: false,
        error: null,
      };
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === "TimeoutError";
      outcome = {
        status: null,
        contentType: null,
        headers: null,
        content: null,
        timedOut,
        error: timedOut ? `Timeout of ${request.timeout_milliseconds} ms reached` : String(error),
      };
    }
    const elapsedMs = Math.round(performance.now() - started);
    await logLine(`${new Date().toISOString()} ${request.id} ${request.method} ${safePath(request.url)} ${outcome.status ?? (outcome.timedOut ? "timeout" : "error")} ${elapsedMs}ms`);
    if (stopped) return;
    try {
      await sql`
        insert into net._http_response (id, status_code, content_type, headers, content, timed_out, error_msg)
        values (${request.id}, ${outcome.status}, ${outcome.contentType}, ${outcome.headers ? sql.json(outcome.headers) : null},
                ${outcome.content}, ${outcome.timedOut}, ${outcome.error})`;
    } catch (error) {
      console.error(`[net] recording response ${request.id} failed: ${error}`);
    }
  }

  // Query strings can carry secrets too: log host and path only.
  function safePath(url: string): string {
    try {
      const parsed = new URL(url);
      return `${parsed.host}${parsed.pathname}`;
    } catch {
      return "<invalid url>";
    }
  }

  async function logLine(line: string): Promise<void> {
    await appendFile(options.logFile, line + "\n").catch(() => {});
  }

  const subscription = await sql.listen("reelforge_net", () => void drain(), () => void drain());
  const poller = setInterval(() => void drain(), options.pollIntervalMs ?? 500);

  return {
    async stop() {
      stopped = true;
      clearInterval(poller);
      await subscription.unlisten().catch(() => {});
      await sql.end({ timeout: 2 });
    },
  };
}
