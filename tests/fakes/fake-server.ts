/**
 * The base of every provider fake: a node:http server on 127.0.0.1:0 with routes, a queue of
 * scripted faults per route, request counters, and a counter of paid submissions per input hash
 * (so a test can assert that no input was ever submitted twice). It also serves real media under
 * /files/<name> (GET and HEAD), the URLs fakes hand out as outputs: the fixed files of fake-media
 * and files a fake adds with `serveFile` (e.g. a clip of the requested length).
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { MEDIA_FILES } from "./fake-media.ts";

/** One scripted answer: a delay (then the normal answer), an error status, or a dropped connection. */
export interface Fault {
  delayMs?: number;
  status?: number;
  /** Seconds, or an HTTP date. */
  retryAfter?: number | string;
  body?: unknown;
  drop?: boolean;
}

export interface FakeRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  body: unknown;
}

export interface FakeAnswer {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

type Handler = (request: FakeRequest) => FakeAnswer | Promise<FakeAnswer>;

export interface PaidRepeat {
  jobIds: (string | null)[];
  receivedAt: number[];
}

export interface FakeServer {
  baseUrl: string;
  /** `key` is "METHOD /path/:param". `open` routes skip the API key check (e.g. media a test serves). */
  route(key: string, handler: Handler, options?: { open?: boolean }): void;
  fault(key: string, ...faults: Fault[]): void;
  /** Requests that reached the route, faulted ones included. */
  hits(key: string): number;
  /** Records a paid submission of `input` (and the job id it was given); returns how many times
   * this exact input was submitted. */
  recordSubmission(input: unknown, jobId?: string): number;
  /** Paid submissions accepted so far, the most times any one input was submitted, and how many inputs. */
  submissions(): { total: number; maxPerInput: number; inputs: number };
  /** Inputs paid for more than once: the job ids given and when each submission arrived. */
  repeats(): PaidRepeat[];
  /** A URL of this server's /files. */
  fileUrl(name: string): string;
  /** Serves `bytes()` (made on the first request, then kept) at /files/<name>. */
  serveFile(name: string, type: string, bytes: () => Uint8Array | Promise<Uint8Array>): void;
  /** Forgets hits and submissions (between two runs against one fake). */
  resetCounters(): void;
  close(): Promise<void>;
}

export async function startFakeServer(
  options: { authorize?: (request: FakeRequest) => boolean } = {},
): Promise<FakeServer> {
  const routes: {
    method: string;
    pattern: RegExp;
    names: string[];
    key: string;
    handler: Handler;
    open: boolean;
  }[] = [];
  const faults = new Map<string, Fault[]>();
  const hits = new Map<string, number>();
  const submissions = new Map<string, { jobId: string | null; receivedAt: number }[]>();
  const files = new Map<string, { type: string; bytes: () => Promise<Uint8Array> }>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const file = url.pathname.match(/^\/files\/([^/]+)$/);
    if (file && (req.method === "GET" || req.method === "HEAD")) {
      return sendFile(req, res, files.get(file[1]) ?? MEDIA_FILES[file[1]]);
    }
    const method = req.method ?? "GET";
    for (const route of routes) {
      const match = route.method === method ? url.pathname.match(route.pattern) : null;
      if (!match) continue;
      hits.set(route.key, (hits.get(route.key) ?? 0) + 1);
      const params = Object.fromEntries(
        route.names.map((name, i) => [name, decodeURIComponent(match[i + 1])]),
      );
      const request: FakeRequest = {
        method,
        path: url.pathname,
        params,
        query: url.searchParams,
        headers: req.headers,
        body: parseJson(text),
      };
      const fault = faults.get(route.key)?.shift();
      if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (fault?.drop) return void res.destroy();
      if (fault?.status) {
        const headers: Record<string, string> = fault.retryAfter === undefined
          ? {}
          : { "retry-after": String(fault.retryAfter) };
        return send(res, {
          status: fault.status,
          body: fault.body ?? { error: `scripted ${fault.status}` },
          headers,
        });
      }
      if (!route.open && options.authorize && !options.authorize(request)) {
        return send(res, { status: 401, body: { error: "invalid API key" } });
      }
      return send(res, await route.handler(request));
    }
    send(res, { status: 404, body: { error: `no route ${method} ${url.pathname}` } });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => send(res, { status: 500, body: { error: String(error) } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    baseUrl,
    route(key, handler, { open = false } = {}) {
      const [method, path] = key.split(" ");
      const names: string[] = [];
      const pattern = new RegExp(
        `^${
          path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(
            /:(\w+)/g,
            (_, name) => (names.push(name), "([^/]+)"),
          )
        }$`,
      );
      routes.push({ method, pattern, names, key, handler, open });
    },
    fault(key, ...more) {
      faults.set(key, [...(faults.get(key) ?? []), ...more]);
    },
    hits: (key) => hits.get(key) ?? 0,
    recordSubmission(input, jobId) {
      // One input is one request whatever token signs its URLs: each submission signs our Storage
      // addresses afresh (signed-inputs.ts), so a resubmission would otherwise count as a new input.
      const stable = JSON.stringify(input).replace(/(\/storage\/v1\/object\/sign\/[^"?]+)\?[^"]*/g, "$1");
      const hash = createHash("sha256").update(stable).digest("hex");
      const paid = submissions.get(hash) ?? [];
      paid.push({ jobId: jobId ?? null, receivedAt: Date.now() });
      submissions.set(hash, paid);
      return paid.length;
    },
    submissions: () => {
      const counts = [...submissions.values()].map((paid) => paid.length);
      return {
        total: counts.reduce((a, b) => a + b, 0),
        maxPerInput: Math.max(0, ...counts),
        inputs: counts.length,
      };
    },
    repeats: () =>
      [...submissions.values()].filter((paid) => paid.length > 1)
        .map((paid) => ({ jobIds: paid.map((p) => p.jobId), receivedAt: paid.map((p) => p.receivedAt) })),
    fileUrl: (name) => `${baseUrl}/files/${name}`,
    serveFile(name, type, bytes) {
      let made: Promise<Uint8Array> | null = null;
      files.set(name, { type, bytes: () => (made ??= Promise.resolve(bytes())) });
    },
    resetCounters() {
      hits.clear();
      submissions.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  file: { type: string; bytes: () => Uint8Array | Promise<Uint8Array> } | undefined,
) {
  if (!file) return send(res, { status: 404, body: { error: "no such file" } });
  const bytes = await file.bytes();
  res.writeHead(200, { "content-type": file.type, "content-length": String(bytes.byteLength) });
  res.end(req.method === "HEAD" ? undefined : bytes);
}

function send(res: ServerResponse, answer: FakeAnswer) {
  const status = answer.status ?? 200;
  const body = answer.body === undefined || status === 204 ? "" : JSON.stringify(answer.body);
  res.writeHead(status, { ...(body ? { "content-type": "application/json" } : {}), ...answer.headers });
  res.end(body);
}

function parseJson(text: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
