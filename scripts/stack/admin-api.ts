/**
 * /_stack/* — the local stack's own endpoints: health (open), and for tests and operators
 * (service role key required): the platform limits in force, live workers and recent exits with
 * their reason, kill workers, change the limits and the env of workers spawned from now on; the
 * pg_net stand-in's faults (drop, stall) and response TTL; list, kill, pause and resume the
 * supervised render workers.
 */
import type { FunctionRegistry } from "./function-registry.ts";
import type { NetDispatcher } from "./net-dispatcher.ts";
import { changeLimits } from "./platform-limits.ts";
import type { RenderWorkerControl } from "./render-worker-control.ts";
import type { WorkerPool } from "./worker-pool.ts";

export const ADMIN_PREFIX = "/_stack/";

export function createAdminApi(deps: {
  registry: FunctionRegistry;
  pool: WorkerPool;
  net: NetDispatcher;
  serviceRoleKey: string;
  renderWorkers: RenderWorkerControl;
}) {
  return async function handleAdminRequest(request: Request, pathname: string): Promise<Response> {
    const route = `${request.method} ${pathname}`;
    if (route === "GET /_stack/health") {
      return Response.json({ ok: true, functions: deps.registry.list().map((fn) => fn.name) });
    }
    if (request.headers.get("authorization") !== `Bearer ${deps.serviceRoleKey}`) {
      return Response.json({ code: 401, message: "Service role key required" }, { status: 401 });
    }
    switch (route) {
      case "GET /_stack/limits":
        return Response.json(deps.pool.limits());
      case "GET /_stack/workers":
        return Response.json({ live: deps.pool.list(), exits: deps.pool.exits() });
      case "POST /_stack/workers/kill": {
        const body = await readJsonObject(request);
        if (body === null || (body.function !== undefined && typeof body.function !== "string")) {
          return badRequest("body must be {function?: string}");
        }
        return Response.json({ killed: deps.pool.kill(body.function as string | undefined) });
      }
      case "GET /_stack/render-workers":
        return Response.json(await deps.renderWorkers.list());
      case "POST /_stack/render-workers/kill": {
        const body = await readJsonObject(request);
        if (body === null || (body.slot !== undefined && !Number.isInteger(body.slot))) {
          return badRequest("body must be {slot?: integer}");
        }
        return Response.json({ killed: await deps.renderWorkers.kill(body.slot as number | undefined) });
      }
      case "POST /_stack/render-workers/pause":
      case "POST /_stack/render-workers/resume": {
        const signalled = await deps.renderWorkers.setPaused(route.endsWith("/pause"));
        if (!signalled) {
          return Response.json({ code: "CONFLICT", message: "no render supervisor is running" }, {
            status: 409,
          });
        }
        return Response.json(await deps.renderWorkers.list());
      }
      case "GET /_stack/config":
        return Response.json(deps.pool.config());
      case "POST /_stack/config": {
        const body = await readJsonObject(request);
        const env = body?.env;
        if (body === null || (env !== undefined && !isEnvChange(env))) {
          return badRequest("body must be {<limit>?: positive integer, env?: {[name]: string | null}}");
        }
        const limits = changeLimits(deps.pool.limits(), body);
        if (typeof limits === "string") return badRequest(limits);
        deps.pool.configure({ limits, env: env as Record<string, string | null> | undefined });
        return Response.json(deps.pool.config());
      }
      case "GET /_stack/net":
        return Response.json(deps.net.state());
      case "POST /_stack/net": {
        const body = await readJsonObject(request);
        const { drop, stallMs, ttlMs } = body ?? {};
        if (
          body === null ||
          (drop !== undefined && !(typeof drop === "number" && drop >= 0 && drop <= 1)) ||
          (stallMs !== undefined && !(Number.isInteger(stallMs) && (stallMs as number) >= 0)) ||
          (ttlMs !== undefined && !(Number.isInteger(ttlMs) && (ttlMs as number) > 0))
        ) {
          return badRequest("body must be {drop?: 0..1, stallMs?: integer >= 0, ttlMs?: positive integer}");
        }
        return Response.json(
          deps.net.configure({
            drop: drop as number | undefined,
            stallMs: stallMs as number | undefined,
            ttlMs: ttlMs as number | undefined,
          }),
        );
      }
      default:
        return Response.json({ code: "NOT_FOUND", message: `No admin route ${route}` }, { status: 404 });
    }
  };
}

async function readJsonObject(request: Request): Promise<Record<string, unknown> | null> {
  const text = await request.text();
  if (text.trim() === "") return {};
  try {
    const value = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

function isEnvChange(value: unknown): boolean {
  return value !== null && typeof value === "object" && !Array.isArray(value) &&
    Object.values(value).every((item) => typeof item === "string" || item === null);
}

function badRequest(message: string): Response {
  return Response.json({ code: "BAD_REQUEST", message }, { status: 400 });
}
