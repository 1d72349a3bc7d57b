import { createAuthenticatorFromConfig } from "../auth/authenticator-from-config.ts";
import type { Admission } from "../auth/caller-admission.ts";
import { loadConfig } from "../config.ts";
import { createDb, isPoolerUrl } from "../db/client.ts";
import { createSliceRunner, type TaskHandlers } from "../engine/slice-runner.ts";
import { createTaskStore } from "../engine/task-store.ts";
import { createLeaseWatch } from "../engine/lease-watch.ts";
import { processCpuClock, sliceCpuBudgetMs } from "../runtime/cpu-clock.ts";
import type { FunctionDeps } from "../function-deps.ts";
import { type ActionSpec, createFunctionApp } from "./function-app.ts";
import { operatorStanding } from "../auth/operator-standing.ts";
import { taskActions } from "./task-actions.ts";

export interface FunctionSpec {
  name: string;
  /** The function's own actions; status / cancel / resume of its tasks come with every function. */
  actions?: (deps: FunctionDeps) => Record<string, ActionSpec>;
  handlers?: (deps: FunctionDeps) => TaskHandlers;
  /** Who may call it: signed-in users (default) or operators only (the service role, operator users). */
  admits?: Admission;
}

export interface RuntimeHooks {
  env: Record<string, string | undefined>;
  waitUntil: (work: Promise<unknown>) => void;
  /** Epoch ms when this worker started: the wall clock counts from here. */
  workerStartedAt: number;
}

/** Builds a function's deps and Hono app from its spec; runtime-neutral (Deno and Node). */
export function buildFunction(spec: FunctionSpec, runtime: RuntimeHooks) {
  const config = loadConfig(runtime.env);
  const sql = createDb(config.SUPABASE_DB_URL, { applicationName: `fn:${spec.name}` });
  const store = createTaskStore(sql);
  const deps: FunctionDeps = { config, sql, store };
  const handlers = spec.handlers?.(deps) ?? {};
  const runSlice = Object.keys(handlers).length === 0 ? undefined : createSliceRunner({
    sql,
    store,
    handlers,
    workerId: `${spec.name}:${crypto.randomUUID().slice(0, 8)}`,
    workerStartedAt: runtime.workerStartedAt,
    wallClockMs: config.REELFORGE_WALL_CLOCK_MS,
    cpu: {
      clock: processCpuClock(),
      sliceLimitMs: sliceCpuBudgetMs(config.REELFORGE_CPU_SOFT_LIMIT_MS, config.REELFORGE_CPU_HARD_LIMIT_MS),
    },
    leaseSeconds: config.REELFORGE_LEASE_SECONDS,
    watchLease: createLeaseWatch(
      isPoolerUrl(config.SUPABASE_DB_URL)
        ? null
        // Opened on first use; idle_timeout 0: closing it would drop the locks it holds.
        : createDb(config.SUPABASE_DB_URL, {
          max: 1,
          idleTimeoutSeconds: 0,
          applicationName: `fn:${spec.name}:leases`,
        }),
    ),
  });
  const app = createFunctionApp({
    name: spec.name,
    actions: { ...taskActions(store, spec.name), ...spec.actions?.(deps) },
    runSlice,
    internalSecret: config.REELFORGE_INTERNAL_SECRET,
    authenticate: createAuthenticatorFromConfig(config),
    admits: spec.admits,
    operatorNow: operatorStanding(sql),
    waitUntil: runtime.waitUntil,
  });
  return { app, deps };
}
