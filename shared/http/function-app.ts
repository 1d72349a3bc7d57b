import { Hono } from "hono";
import { cors } from "hono/cors";
import { z } from "zod";
import type { Caller } from "../auth/caller.ts";
import { callerFromAuthorization, secretsEqual } from "../auth/caller.ts";
import { AppError, BadRequestError, UnauthorizedError } from "../errors.ts";
import type { SliceResult } from "../engine/slice-runner.ts";
import { respondWithError } from "./error-handler.ts";
import { parseInput, readJsonObject } from "./read-body.ts";

/** One user-facing action of a function: `{ "action": "<name>", ...input }`. */
export interface ActionSpec<S extends z.ZodType = z.ZodType> {
  input: S;
  run(input: z.infer<S>, caller: Caller): Promise<{ status?: number; body: unknown }>;
}

export function defineAction<S extends z.ZodType>(spec: ActionSpec<S>): ActionSpec<S> {
  return spec;
}

export interface FunctionAppOptions {
  name: string;
  actions: Record<string, ActionSpec>;
  /** Present when the function runs task slices; called by the doorbell (pg_net / cron). */
  runSlice?: (taskId: string) => Promise<SliceResult>;
  internalSecret: string;
  /** Keeps the worker alive for work done after the response (EdgeRuntime.waitUntil). */
  waitUntil: (work: Promise<unknown>) => void;
}

const sliceRequest = z.object({ taskId: z.string().uuid() }).strict();

/**
 * The Hono app every Edge Function serves: POST `/<name>` with a JSON body naming an action, and
 * POST `/<name>/task-slice` for the engine's internal doorbell.
 */
export function createFunctionApp(options: FunctionAppOptions) {
  const app = new Hono().basePath(`/${options.name}`);
  const actionNames = Object.keys(options.actions);

  app.use("*", cors({ origin: "*", allowHeaders: ["authorization", "x-client-info", "apikey", "content-type"] }));
  app.onError(respondWithError);
  app.notFound((c) =>
    c.json({ error: { code: "not_found", message: `No route ${c.req.method} ${new URL(c.req.url).pathname}` } }, 404)
  );

  app.post("/", async (c) => {
    const caller = callerFromAuthorization(c.req.header("authorization"));
    const body = await readJsonObject(c);
    const { action, ...input } = parseInput(
      z.object({ action: z.string({ error: "action is required (a string)" }) }).passthrough(),
      body,
    );
    const spec = options.actions[action];
    if (!spec) {
      throw new BadRequestError(
        "unknown_action",
        `Unknown action "${action}" for ${options.name}; expected one of: ${actionNames.join(", ")}`,
      );
    }
    const { status = 200, body: responseBody } = await spec.run(parseInput(spec.input, input), caller);
    return c.json(responseBody as Record<string, unknown>, status as 200);
  });

  app.post("/task-slice", async (c) => {
    if (!options.runSlice) throw new AppError("not_found", 404, `${options.name} runs no tasks`);
    if (!secretsEqual(c.req.header("x-reelforge-internal"), options.internalSecret)) {
      throw new UnauthorizedError("task-slice is internal: missing or wrong x-reelforge-internal secret");
    }
    const { taskId } = parseInput(sliceRequest, await readJsonObject(c));
    const runSlice = options.runSlice;
    options.waitUntil(
      runSlice(taskId).catch((error) =>
        console.error(JSON.stringify({ event: "slice_crashed", taskId, message: String(error?.message ?? error) }))
      ),
    );
    return c.json({ accepted: true, taskId }, 202);
  });

  app.all("/", (c) =>
    c.json({ error: { code: "method_not_allowed", message: `Use POST with a JSON body, not ${c.req.method}` } }, 405)
  );

  return app;
}
