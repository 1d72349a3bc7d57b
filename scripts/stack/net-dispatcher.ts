/**
 * The pg_net stand-in: delivers rows of net.http_request_queue and records each outcome in
 * net._http_response, as pg_net's background worker does (supabase/pg_net src/worker.c, core.c):
 * each round first prunes responses older than the TTL (pg_net.ttl, 6 hours), then takes up to
 * batch_size (200) requests; a request that got no answer is recorded with status_code null,
 * timed_out and error_msg. Woken by NOTIFY (sent only on commit) with a polling fallback.
 * Unlike pg_net, a slow request never holds up the next batch.
 *
 * Faults for tests (POST /_stack/net): `drop` loses that share of requests (taken from the
 * queue, never sent, no response recorded, as when pg_net's worker dies mid-batch); `stallMs`
 * holds every request that long before it is sent, and one held past its own timeout is never
 * sent and is recorded as timed out.
 */
import postgres from "postgres";
import { appendFile } from "node:fs/promises";

export interface NetDispatcherOptions {
  dbUrl: string;
  logFile: string;
  pollIntervalMs?: number;
  batchSize?: number;
  ttlMs?: number;
}

export interface NetFaults {
  /** Share of requests lost without a trace, 0..1. */
  drop: number;
  /** How long each request is held before it is sent. */
  stallMs: number;
}

export interface NetState extends NetFaults {
  ttlMs: number;
  batchSize: number;
  dropped: number;
  stalled: number;
}

interface QueuedRequest {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string> | null;
  body: Uint8Array<ArrayBuffer> | null;
  timeout_milliseconds: number;
}

interface Outcome {
  status: number | null;
  contentType: string | null;
  headers: Record<string, string> | null;
  content: string | null;
  timedOut: boolean;
  error: string | null;
}

const MAX_CONTENT_CHARS = 64 * 1024;
export const PG_NET_TTL_MS = 6 * 60 * 60 * 1000;
export const PG_NET_BATCH_SIZE = 200;

export interface NetDispatcher {
  state(): NetState;
  /** Changes faults and the TTL for requests taken from now on. */
  configure(change: Partial<NetFaults> & { ttlMs?: number }): NetState;
  stop(): Promise<void>;
}

/** Connects, listens on `reelforge_net` and starts delivering. */
export async function startNetDispatcher(options: NetDispatcherOptions): Promise<NetDispatcher> {
  const sql = postgres(options.dbUrl, {
    max: 4,
    onnotice: () => {},
    connection: { application_name: "reelforge_net" },
  });
  const batchSize = options.batchSize ?? PG_NET_BATCH_SIZE;
  let ttlMs = options.ttlMs ?? PG_NET_TTL_MS;
  const faults: NetFaults = { drop: 0, stallMs: 0 };
  const counters = { dropped: 0, stalled: 0 };
  let draining = false;
  let drainAgain = false;
  let stopped = false;

  async function pruneResponses(): Promise<void> {
    await sql`
      delete from net._http_response
      where ctid in (
        select ctid from net._http_response
        where created < now() - make_interval(secs => ${ttlMs / 1000})
        order by created limit ${batchSize}
      )`;
  }

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
      await pruneResponses();
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
    if (faults.drop > 0 && Math.random() < faults.drop) {
      counters.dropped++;
      await logLine(
        `${new Date().toISOString()} ${request.id} ${request.method} ${safePath(request.url)} dropped`,
      );
      return;
    }
    const stallMs = faults.stallMs;
    let outcome: Outcome;
    if (stallMs > 0) {
      counters.stalled++;
      await new Promise((resolve) => setTimeout(resolve, Math.min(stallMs, request.timeout_milliseconds)));
    }
    if (stallMs > 0 && stallMs >= request.timeout_milliseconds) {
      outcome = timedOut(request);
    } else {
      outcome = await send(request, request.timeout_milliseconds - stallMs);
    }
    const elapsedMs = Math.round(performance.now() - started);
    await logLine(
      `${new Date().toISOString()} ${request.id} ${request.method} ${safePath(request.url)} ${
        outcome.status ?? (outcome.timedOut ? "timeout" : "error")
      } ${elapsedMs}ms`,
    );
    if (stopped) return;
    try {
      await sql`
        insert into net._http_response (id, status_code, content_type, headers, content, timed_out, error_msg)
        values (${request.id}, ${outcome.status}, ${outcome.contentType}, ${
        outcome.headers ? sql.json(outcome.headers) : null
      },
                ${outcome.content}, ${outcome.timedOut}, ${outcome.error})`;
    } catch (error) {
      console.error(`[net] recording response ${request.id} failed: ${error}`);
    }
  }

  const subscription = await sql.listen("reelforge_net", () => void drain(), () => void drain());
  const poller = setInterval(() => void drain(), options.pollIntervalMs ?? 500);

  return {
    state: () => ({ ...faults, ttlMs, batchSize, ...counters }),
    configure(change) {
      if (change.drop !== undefined) faults.drop = change.drop;
      if (change.stallMs !== undefined) faults.stallMs = change.stallMs;
      if (change.ttlMs !== undefined) ttlMs = change.ttlMs;
      void drain();
      return { ...faults, ttlMs, batchSize, ...counters };
    },
    async stop() {
      stopped = true;
      clearInterval(poller);
      await subscription.unlisten().catch(() => {});
      await sql.end({ timeout: 2 });
    },
  };

  async function logLine(line: string): Promise<void> {
    await appendFile(options.logFile, line + "\n").catch(() => {});
  }
}

async function send(request: QueuedRequest, timeoutMs: number): Promise<Outcome> {
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: Object.entries(request.headers ?? {}).map((
        [name, value],
      ): [string, string] => [name, String(value)]),
      body: request.body && request.method !== "GET" ? request.body : undefined,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const content = await response.text();
    return {
      status: response.status,
      contentType: response.headers.get("content-type"),
      headers: Object.fromEntries(response.headers),
      // pg_net stores an empty body as null.
      content: content === "" ? null : content.slice(0, MAX_CONTENT_CHARS),
      timedOut: false,
      error: null,
    };
  } catch (error) {
    if (error instanceof DOMException && error.name === "TimeoutError") return timedOut(request);
    return {
      status: null,
      contentType: null,
      headers: null,
      content: null,
      timedOut: false,
      error: String(error),
    };
  }
}

function timedOut(request: QueuedRequest): Outcome {
  return {
    status: null,
    contentType: null,
    headers: null,
    content: null,
    timedOut: true,
    error: `Timeout of ${request.timeout_milliseconds} ms reached`,
  };
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
