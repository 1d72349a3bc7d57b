/**
 * The render worker process: `deno run -A scripts/render-worker.ts [--concurrency N] [--kinds render,local_media]`.
 * Claims pulled tasks (render, local_media) from background_tasks and runs them with FFmpeg. Config
 * from the environment (SUPABASE_DB_URL, SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY for Storage's API); locally, .stack/env.json fills the gaps.
 * SIGTERM/SIGINT: stop claiming, let running jobs finish (up to 20 s), give the rest back.
 * Health: a row in engine.render_workers beaten every 5 s, and with REELFORGE_WORKER_HEALTH_PORT
 * (or --health-port) `GET /health` on 127.0.0.1 (REELFORGE_WORKER_HEALTH_HOST to widen): 200 while
 * it claims work, 503 when not.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createDb, isPoolerUrl } from "../shared/db/client.ts";
import { createLeaseWatch } from "../shared/engine/lease-watch.ts";
import { createWorkerLoop } from "../shared/worker/worker-loop.ts";
import { describeHealth, startHeartbeat } from "../shared/worker/worker-health.ts";
import { loadWorkerConfig, stackDefaults } from "../shared/worker/worker-config.ts";
import { selectHandlers } from "./render-worker-handlers.ts";
import { parseX264Preset } from "../shared/render/assemble-command.ts";
import { createStorage } from "../shared/storage/index.ts";

function flag(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

function readStackEnv(): Record<string, string> {
  const stackDir = resolve(Deno.env.get("REELFORGE_STACK_DIR") || join(import.meta.dirname!, "..", ".stack"));
  try {
    return stackDefaults(JSON.parse(readFileSync(join(stackDir, "env.json"), "utf8")));
  } catch {
    return {};
  }
}

const env = { ...readStackEnv(), ...Deno.env.toObject() };
if (flag("concurrency")) env.REELFORGE_WORKER_CONCURRENCY = flag("concurrency")!;
if (flag("kinds")) env.REELFORGE_WORKER_KINDS = flag("kinds")!;
const config = loadWorkerConfig(env);

const concurrency = config.REELFORGE_WORKER_CONCURRENCY;
const sql = createDb(config.SUPABASE_DB_URL, {
  max: concurrency + 2,
  applicationName: "reelforge-render-worker",
});
const storage = createStorage(config, sql);

const loop = createWorkerLoop({
  sql,
  storage,
  mediaBucket: config.REELFORGE_MEDIA_BUCKET,
  handlers: selectHandlers(
    config.REELFORGE_WORKER_KINDS?.split(",").map((k) => k.trim()).filter(Boolean),
    { x264Preset: parseX264Preset(env.REELFORGE_RENDER_X264_PRESET) },
  ),
  concurrency,
  leaseSeconds: config.REELFORGE_LEASE_SECONDS,
  // One connection, never closed while idle, holds the liveness locks of all running jobs.
  watchLease: createLeaseWatch(
    isPoolerUrl(config.SUPABASE_DB_URL) ? null : createDb(config.SUPABASE_DB_URL, {
      max: 1,
      idleTimeoutSeconds: 0,
      applicationName: "reelforge-render-worker:leases",
    }),
  ),
  log: (line) => console.log(`${new Date().toISOString()} ${line}`),
});

const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
const stopHeartbeat = startHeartbeat(sql, () => loop.stats(), { log });
const healthPort = flag("health-port") ?? env.REELFORGE_WORKER_HEALTH_PORT;
const health = healthPort
  ? Deno.serve({
    port: Number(healthPort),
    hostname: env.REELFORGE_WORKER_HEALTH_HOST || "127.0.0.1",
    onListen: () => {},
  }, (request) => {
    if (new URL(request.url).pathname !== "/health") return new Response("not found", { status: 404 });
    const { status, body } = describeHealth(loop.stats());
    return Response.json(body, { status });
  })
  : null;

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`${new Date().toISOString()} ${signal}: stopping`);
  await loop.stop();
  await stopHeartbeat();
  await health?.shutdown();
  await sql.end({ timeout: 5 });
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM"));
Deno.addSignalListener("SIGINT", () => shutdown("SIGINT"));
loop.start();
