/**
 * /_stack/* — the local stack's own endpoints: health (open), and chaos controls for tests
 * (service role key required): list workers, kill workers, change the wall clock and the env of
 * workers spawned from now on; list, kill, pause and resume the supervised render workers.
 */
import type { FunctionRegistry } from "./function-registry.ts";
import type { RenderWorkerControl } from "./render-worker-control.ts";
import type { WorkerPool } from "./worker-pool.ts";

export const ADMIN_PREFIX = "/_stack/";

export function createAdminApi(deps: { registry: FunctionRegistry; pool: WorkerPool; serviceRoleKey: string; renderWorkers: RenderWorkerControl }) {
  return async function handleAdminRequest(request: Request, pathname: string): Promise<Response> {
    const route = `${request.method} ${pathname}`;
    if (route === "GET /_stack/health") {
      return Response.json({ ok: true, functions: deps.registry.list().map((fn) => fn.name) });
    }
    if (request.headers.get("authorization") !== `Bearer ${deps.serviceRoleKey}`) {
      return Response.json({ code: 401, message: "Service role key required" }, { status: 401 });
    }
    switch (route) {
      case "GET /_stack/workers":
        return Response.json(deps.pool.list());
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
        if (body === null || (body.slot !== undefined && !Number.isInteger(body.slot))) return badRequest("body must be {slot?: integer}");
        return Response.json({ killed: await deps.renderWorkers.kill(body.slot as number | undefined) });
      }
      case "POST /_stack/render-workers/pause":
      case "POST /_stack/render-workers/resume": {
        const signalled = await deps.renderWorkers.setPaused(route.endsWith("/pause"));
        if (!signalled) return Response.json({ code: "CONFLICT", message: "no render supervisor is running" }, { status: 409 });
        return Response.json(await deps.renderWorkers.list());
      }
      case "GET /_stack/config":
        return Response.json(deps.pool.config());
      case "POST /_stack/config": {
        const body = await readJsonObject(request);
        const wallClockMs = body?.wallClockMs;
        const env = body?.env;
        if (
          body === null ||
          (wallClockMs !== undefined && !(Number.isInteger(wallClockMs) && (wallClockMs as number) > 0)) ||
          (env !== undefined && !isEnvChange(env))
        ) {
          return badRequest("body must be {wallClockMs?: positive integer, env?: {[name]: string | null}}");
        }
        deps.pool.configure({ wallClockMs: wallClockMs as number | undefined, env: env as Record<string, string | null> | undefined });
        return Response.json(deps.pool.config());
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
