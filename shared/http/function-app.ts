import { Hono } from "hono";
import { cors } from "hono/cors";
import { z } from "zod";
import { AnonymousNotAllowedError } from "../auth/auth-errors.ts";
import type { Authenticator } from "../auth/authenticate.ts";
import { type Admission, admitCaller } from "../auth/caller-admission.ts";
import type { Caller } from "../auth/caller.ts";
import { OperatorOnlyError } from "../auth/auth-errors.ts";
import type { OperatorStanding } from "../auth/operator-standing.ts";
import { secretsEqual } from "../auth/caller.ts";
import { AppError, BadRequestError, quoted, UnauthorizedError } from "../errors.ts";
import type { SliceResult } from "../engine/slice-end.ts";
import { respondWithError } from "./error-handler.ts";
import { parseInput, readJsonObject, requiredAs } from "./read-body.ts";

/** One user-facing action of a function: `{ "action": "<name>", ...input }`. */
export interface ActionSpec<S extends z.ZodType = z.ZodType> {
  input: S;
  /** Spends the project's paid capacity (provider calls, renders): anonymous users get 403. */
  spends?: boolean;
  run(input: z.infer<S>, caller: Caller): Promise<{ status?: number; body: unknown }>;
}

export function defineAction<S extends z.ZodType>(spec: ActionSpec<S>): ActionSpec<S> {
  return spec;
}

export interface FunctionAppOptions {
  name: string;
  actions: Record<string, ActionSpec>;
  /** Present when the function runs task slices; called by the doorbell (pg_net / cron). */
  runSlice?: (taskId: string, onClaimed?: (claimed: boolean) => void) => Promise<SliceResult>;
  internalSecret: string;
  /** Verifies the request's credentials (shared/auth): every call, whatever the gateway did. */
  authenticate: Authenticator;
  /** "users" (default): signed-in users only. "operators": the service role and operator users only. */
  admits?: Admission;
  /** At an operator function, whether a user its token calls an operator still is one (operator-standing.ts). */
  operatorNow?: OperatorStanding;
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

  app.use(
    "*",
    cors({ origin: "*", allowHeaders: ["authorization", "x-client-info", "apikey", "content-type"] }),
  );
  app.onError(respondWithError);
  app.notFound((c) =>
    c.json({
      error: { code: "not_found", message: `No route ${c.req.method} ${new URL(c.req.url).pathname}` },
    }, 404)
  );

  app.post("/", async (c) => {
    const principal = await options.authenticate({
      authorization: c.req.header("authorization"),
      apikey: c.req.header("apikey"),
    });
    const caller = admitCaller(principal, options.admits ?? "users", options.name);
    if (options.admits === "operators" && !caller.isServiceRole) {
      // Without a way to ask, nobody but the service role is admitted.
      if (!(await options.operatorNow?.(caller.userId))) throw new OperatorOnlyError(options.name);
    }
    const body = await readJsonObject(c);
    const { action, ...input } = parseInput(
      z.object({ action: z.string({ error: requiredAs("action", "a string") }) }).passthrough(),
      body,
    );
    // Own actions only: "constructor" or "toString" must not find Object.prototype's.
    const spec = Object.hasOwn(options.actions, action) ? options.actions[action] : undefined;
    if (!spec) {
      throw new BadRequestError(
        "unknown_action",
        `Unknown action ${quoted(action)} for ${options.name}; expected one of: ${actionNames.join(", ")}`,
      );
    }
    if (spec.spends && caller.isAnonymous) throw new AnonymousNotAllowedError(`${options.name} ${action}`);
    const { status = 200, body: responseBody } = await spec.run(parseInput(spec.input, input), caller);
    return c.json(responseBody as Record<string, unknown>, status as 200);
  });

  app.post("/task-slice", async (c) => {
    if (!options.runSlice) throw new AppError("not_found", 404, `${options.name} runs no tasks`);
    if (!secretsEqual(c.req.header("x-reelforge-internal"), options.internalSecret)) {
      throw new UnauthorizedError("task-slice is internal: missing or wrong x-reelforge-internal secret");
    }
    const { taskId } = parseInput(sliceRequest, await readJsonObject(c));
    // The doorbell is answered once the claim has committed: a worker killed before that leaves
    // the doorbell unanswered (a 546 the sweeper rings again at once), and one killed after it
    // leaves a watched lease that the sweeper takes back at once. Answering first would leave a
    // 202 for a task nobody claimed, idle until the redispatch window ends.
    let heardClaim!: (claimed: boolean) => void;
    const claim = new Promise<boolean>((resolve) => (heardClaim = resolve));
    options.waitUntil(
      options.runSlice(taskId, heardClaim).catch((error) =>
        console.error(
          JSON.stringify({ event: "slice_crashed", taskId, message: String(error?.message ?? error) }),
        )
      ).finally(() => heardClaim(false)),
    );
    return c.json({ accepted: true, taskId, claimed: await claim }, 202);
  });

  app.all(
    "/",
    (c) =>
      c.json({
        error: { code: "method_not_allowed", message: `Use POST with a JSON body, not ${c.req.method}` },
      }, 405),
  );

  return app;
}
